package packages

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fetch resolves one package location of an instance (cluster.md §9.4).
// A download goes into the instance's directory, or its subdirectory sub
// when that is not empty.
func (s *Store) fetch(ctx context.Context, inst *pb.Instance, loc *pb.PackageLocationMetaData, ct pb.FunctionDetails_ComponentType, sub string) (string, error) {
	md := inst.GetFunctionMetaData()
	fd := md.GetFunctionDetails()
	p, err := ParsePath(loc.GetPackagePath())
	if err != nil {
		return "", fmt.Errorf("fetch package: %w", err)
	}
	// Java's order: a file: URL first, then the component's builtin fields, then downloads.
	if p.Kind == KindFile {
		if err := s.policy.Check(ct, p.Raw); err != nil {
			return "", fmt.Errorf("fetch package: %w", err)
		}
		if _, err := statFile(p.File); err != nil {
			return "", fmt.Errorf("fetch package %s: %w", p.Raw, err)
		}
		return p.File, nil
	}
	if name := builtinName(fd, ct); name != "" || p.Kind == KindBuiltin {
		if name == "" {
			name = p.Name
		}
		connector := ct == pb.FunctionDetails_SOURCE || ct == pb.FunctionDetails_SINK
		a, err := s.builtins.lookup(connector, name)
		if err != nil {
			return "", fmt.Errorf("fetch package builtin://%s: %w", name, err)
		}
		return a.Path, nil
	}
	if p.Kind == KindDistributedLog {
		return "", fmt.Errorf("fetch package %s: %w", p.Raw, ErrDistributedLog)
	}
	if p.Kind == KindHTTP {
		// Checked before the download as Java does, and again on every redirect.
		if err := s.policy.Check(ct, p.Raw); err != nil {
			return "", fmt.Errorf("fetch package: %w", err)
		}
	}
	dir, err := s.instanceDir(inst)
	if err != nil {
		return "", fmt.Errorf("fetch package %s: %w", p.Raw, err)
	}
	fileName, err := downloadFileName(fd, loc)
	if err != nil {
		return "", fmt.Errorf("fetch package %s: %w", p.Raw, err)
	}
	if sub != "" {
		dir = filepath.Join(dir, sub)
	}
	key := p.Raw
	if p.Kind == KindHTTP || (p.Kind == KindPackage && p.Version == "latest") {
		// The same URL may serve new bytes; a new metadata version refetches.
		key += "#" + strconv.FormatUint(md.GetVersion(), 10) + "#" + strconv.FormatUint(md.GetCreateTime(), 10)
	}
	start := time.Now()
	final := filepath.Join(dir, fileName)
	var hit bool
	for attempt := 0; ; attempt++ {
		var obj string
		obj, hit, err = s.cache.get(ctx, key, s.maxBytes, func(ctx context.Context, w io.Writer) (string, error) {
			return s.download(ctx, p, ct, w)
		})
		if err != nil {
			return "", fmt.Errorf("fetch package %s: %w", p.Raw, err)
		}
		err = s.cache.link(obj, final, inst.GetInstanceId())
		if errors.Is(err, fs.ErrNotExist) && attempt == 0 {
			continue // pruned between download and link: fetch again
		}
		if err != nil {
			return "", fmt.Errorf("fetch package %s: %w", p.Raw, err)
		}
		break
	}
	if fd.GetRuntime() == pb.FunctionDetails_GO {
		// The file is a hard link into the cache; the mode is shared, which is
		// harmless: the bytes stay read-only.
		if err := os.Chmod(final, 0o555); err != nil {
			return "", fmt.Errorf("fetch package %s: make executable: %w", p.Raw, err)
		}
	}
	s.log.Info("package ready", "function", fd.GetTenant()+"/"+fd.GetNamespace()+"/"+fd.GetName(),
		"instance", inst.GetInstanceId(), "from", p.Raw, "path", final, "cached", hit, "took", time.Since(start).Round(time.Millisecond))
	return final, nil
}

// download writes the package's bytes to w and returns the sha256 its
// storage recorded, if any.
func (s *Store) download(ctx context.Context, p Path, ct pb.FunctionDetails_ComponentType, w io.Writer) (string, error) {
	switch p.Kind {
	case KindHTTP:
		body, err := s.getUserURL(ctx, p, ct)
		if err != nil {
			return "", err
		}
		defer body.Close()
		_, err = io.Copy(w, body)
		return "", err
	case KindPackage:
		body, sum, err := s.openPackage(ctx, p)
		if err != nil {
			return "", err
		}
		defer body.Close()
		_, err = io.Copy(w, body)
		return sum, err
	case KindTopic:
		if err := s.needBroker(); err != nil {
			return "", err
		}
		if err := s.topicExists(ctx, p); err != nil {
			return "", err
		}
		m, err := s.readTopic(ctx, p, w)
		return m.sha256, err
	}
	return "", fmt.Errorf("cannot download a %s package", p.Kind)
}

// getUserURL GETs a user's http(s) URL without the worker's credentials.
// The URL patterns are an allow-list, so every redirect must pass them too.
func (s *Store) getUserURL(ctx context.Context, p Path, ct pb.FunctionDetails_ComponentType) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Raw, nil)
	if err != nil {
		return nil, err
	}
	identityEncoding(req) // kept on redirects: the client copies the headers
	client := &http.Client{Transport: s.userHTTP, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return s.policy.Check(ct, req.URL.String())
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: HTTP %s", ErrNotFound, resp.Status)
		}
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return resp.Body, nil
}

// cache keeps downloaded packages once per worker:
//
//	.cache/objects/<sha256>  the bytes, read-only, named by their hash
//	.cache/refs/<sha256 of key>  the object a package path (and version) resolved to
//	.cache/tmp/  downloads in progress
//
// Instance files are hard links to objects, so an object with one link is unused.
type cache struct {
	dir string

	mu      sync.Mutex // guards flights and the link/prune steps
	flights map[string]*flight
}

type flight struct {
	done chan struct{}
	obj  string
	err  error
}

// get returns the object for key, downloading it with fill once however many
// instances ask at the same time. A hit is re-hashed before use, so a
// corrupted cache file is fetched again rather than run.
func (c *cache) get(ctx context.Context, key string, limit int64, fill func(context.Context, io.Writer) (string, error)) (obj string, hit bool, err error) {
	c.mu.Lock()
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.obj, true, f.err
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()
	defer func() {
		f.obj, f.err = obj, err
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
	}()

	ref := filepath.Join(c.dir, "refs", hashString(key))
	if b, rerr := os.ReadFile(ref); rerr == nil {
		sum := strings.TrimSpace(string(b))
		o := filepath.Join(c.dir, "objects", sum)
		if got, herr := hashFile(o); herr == nil && got == sum {
			return o, true, nil
		}
	}
	for _, d := range []string{"objects", "refs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			return "", false, err
		}
	}
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "dl-*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	lw := &limitWriter{w: io.MultiWriter(tmp, h), limit: limit}
	want, err := fill(ctx, lw)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && !strings.EqualFold(want, sum) {
		return "", false, fmt.Errorf("%w: sha256 %s, stored package says %s", ErrCorrupt, sum, want)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return "", false, err
	}
	o := filepath.Join(c.dir, "objects", sum)
	c.mu.Lock()
	err = os.Rename(tmp.Name(), o)
	c.mu.Unlock()
	if err != nil {
		return "", false, err
	}
	if err := writeFileAtomic(ref, []byte(sum+"\n")); err != nil {
		return "", false, err
	}
	return o, false, nil
}

// link places obj at final the way Java does: into a temporary name in the
// same directory first, then over final in one step.
func (c *cache) link(obj, final string, instanceID int32) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.%s", final, instanceID, randomHex(8))
	c.mu.Lock()
	err := os.Link(obj, tmp)
	c.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err != nil {
		// Another file system (EXDEV) or no hard links allowed: copy instead.
		if cerr := copyFile(obj, tmp); cerr != nil {
			return fmt.Errorf("link %s: %w; copy: %v", obj, err, cerr)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// prune removes objects no instance links to and refs to missing objects.
func (c *cache) prune(log *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.flights) > 0 {
		return // a download may be about to link what looks unused
	}
	objs, _ := os.ReadDir(filepath.Join(c.dir, "objects"))
	for _, e := range objs {
		p := filepath.Join(c.dir, "objects", e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink <= 1 {
			if err := os.Remove(p); err != nil {
				log.Warn("prune cached package", "path", p, "err", err)
			}
		}
	}
	refs, _ := os.ReadDir(filepath.Join(c.dir, "refs"))
	for _, e := range refs {
		p := filepath.Join(c.dir, "refs", e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, "objects", strings.TrimSpace(string(b)))); errors.Is(err, fs.ErrNotExist) {
			os.Remove(p)
		}
	}
}

// limitWriter fails with ErrTooLarge past limit bytes (< 0: no limit).
type limitWriter struct {
	w     io.Writer
	n     int64
	limit int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.limit >= 0 && l.n+int64(len(p)) > l.limit {
		return 0, tooLarge(l.limit)
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeFileAtomic(p string, b []byte) error {
	tmp := p + ".tmp." + randomHex(4)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
