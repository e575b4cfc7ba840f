package packages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// The REST API's upload and download by path (F17/F18) use the store Java
// uses for them: with functionsWorkerEnablePackageManagement the broker's
// packages service, under the path as a package name (type://t/ns/name@v);
// without it Java writes a DistributedLog log of that name, and we keep the
// bytes in a package topic named after the path (the same layout as
// uploaded packages).

// PathTopic is the package topic that holds what was uploaded under path.
func (s *Store) PathTopic(path string) string {
	sum := sha256.Sum256([]byte(path))
	slug := unsafeTopicChars.ReplaceAllString(path, "_")
	if len(slug) > 80 {
		slug = slug[:80]
	}
	return fmt.Sprintf("%s%s/upload-%s-%s", topicScheme, s.opts.FunctionsNamespace, slug, hex.EncodeToString(sum[:8]))
}

// ErrInvalidPackageName reports an upload by path, with package management
// on, whose path is no package name (Java's PackageName refuses it).
var ErrInvalidPackageName = errors.New("invalid package name")

// UploadAt stores r under path: with package management, in the packages
// service as the package path names (ErrInvalidPackageName if it names
// none; the service refuses to overwrite, ErrExists), else in path's topic,
// replacing what was there.
func (s *Store) UploadAt(ctx context.Context, path string, r io.Reader) (err error) {
	if s.opts.PackageManagement {
		p, err := ParsePath(path)
		if err != nil || p.Kind != KindPackage {
			return fmt.Errorf("upload %s: %w: Invalid package name '%s'", path, ErrInvalidPackageName, path)
		}
		return s.putPackage(ctx, p, r, baseName(p.Name), "uploaded by path", time.Now().UnixMilli())
	}
	if err := s.needBroker(); err != nil {
		return err
	}
	if s.opts.FunctionsNamespace == "" {
		return errors.New("upload package: pulsarFunctionsNamespace is not set")
	}
	topic := s.PathTopic(path)
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return fmt.Errorf("upload %s: topic %s: %w", path, topic, err)
	}
	topics := s.admin.Topics()
	if err := topics.DeleteWithContext(ctx, *tn, true, true); err != nil && broker.StatusCode(err) != http.StatusNotFound {
		return fmt.Errorf("upload %s: replace %s: %w", path, topic, err)
	}
	props := map[string]string{"pulsar-functions-worker.path": path}
	if err := topics.CreateWithPropertiesWithContext(ctx, *tn, 0, props); err != nil {
		return fmt.Errorf("upload %s: create topic %s: %w", path, topic, err)
	}
	defer func() {
		if err == nil {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := topics.DeleteWithContext(dctx, *tn, true, true); derr != nil && broker.StatusCode(derr) != http.StatusNotFound {
			s.log.Warn("could not delete the topic of a failed upload", "topic", topic, "err", derr)
		}
	}()
	persistence, err := s.prepareTopic(ctx, tn)
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", path, topic, err)
	}
	prod, err := s.createProducer(ctx, tn, persistence)
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", path, topic, err)
	}
	defer prod.Close()
	m, err := writeSegments(ctx, prod, &limitReader{r: r, limit: s.maxBytes})
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", path, topic, err)
	}
	name := baseName(path)
	_, err = prod.Send(ctx, &pulsar.ProducerMessage{Properties: map[string]string{
		propKind:     "manifest",
		propFormat:   "1",
		propSHA256:   m.sha256,
		propSize:     strconv.FormatInt(m.size, 10),
		propSegments: strconv.Itoa(m.segments),
		propFileName: name,
		"path":       path,
	}})
	if err != nil {
		return fmt.Errorf("upload %s to %s: manifest: %w", path, topic, err)
	}
	s.log.Info("package stored by path", "path", path, "topic", topic, "bytes", m.size, "sha256", m.sha256)
	return nil
}

// OpenAt streams what path names, in Java's order (ComponentImpl
// .getStreamingOutput): an http(s) or file URL the URL policy allows, a
// builtin:// archive, then with package management the package the path
// names, without it what UploadAt stored under path. A persistent:// package
// topic (a location this worker recorded) is read as itself.
func (s *Store) OpenAt(ctx context.Context, path string) (io.ReadCloser, error) {
	p, err := ParsePath(path)
	if err == nil {
		switch {
		case p.Kind == KindHTTP || p.Kind == KindFile || p.Kind == KindBuiltin || p.Kind == KindTopic,
			p.Kind == KindPackage && s.opts.PackageManagement:
			return s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: path})
		}
	}
	if s.opts.PackageManagement {
		// Java fails inside its streaming answer (200, empty body); we say why.
		return nil, fmt.Errorf("download %s: %w: Invalid package name '%s'", path, ErrNotFound, path)
	}
	return s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: s.PathTopic(path)})
}
