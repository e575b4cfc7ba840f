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

// The REST API's upload and download by path (Java: a DistributedLog log of
// that name) keep a path's bytes in a package topic named after the path:
// the same layout as uploaded packages, a name derived from the path.

// PathTopic is the package topic that holds what was uploaded under path.
func (s *Store) PathTopic(path string) string {
	sum := sha256.Sum256([]byte(path))
	slug := unsafeTopicChars.ReplaceAllString(path, "_")
	if len(slug) > 80 {
		slug = slug[:80]
	}
	return fmt.Sprintf("%s%s/upload-%s-%s", topicScheme, s.opts.FunctionsNamespace, slug, hex.EncodeToString(sum[:8]))
}

// UploadAt stores r under path, replacing what was there.
func (s *Store) UploadAt(ctx context.Context, path string, r io.Reader) (err error) {
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

// OpenAt streams what path names: a package location this worker stores
// (a package topic, builtin://, a package URL, or an http(s)/file URL the
// URL policy allows, as Open), else what UploadAt stored under path.
func (s *Store) OpenAt(ctx context.Context, path string) (io.ReadCloser, error) {
	if p, err := ParsePath(path); err == nil && p.Kind != KindDistributedLog {
		return s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: path})
	}
	return s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: s.PathTopic(path)})
}
