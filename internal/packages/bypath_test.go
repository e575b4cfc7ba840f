package packages

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
)

// TestPathTopic: every upload path has its own package topic, the same one
// each time, in the functions namespace.
func TestPathTopic(t *testing.T) {
	s, err := New(Options{DownloadDirectory: t.TempDir(), FunctionsNamespace: "public/functions"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, p := range []string{"a/b/c/d.jar", "a/b/c/d_jar", "a/b/c/d.jar/", "x", strings.Repeat("long/", 100)} {
		topic := s.PathTopic(p)
		if topic != s.PathTopic(p) {
			t.Errorf("%q: topic changes", p)
		}
		if prev, dup := seen[topic]; dup {
			t.Errorf("%q and %q share %s", p, prev, topic)
		}
		seen[topic] = p
		parsed, err := ParsePath(topic)
		if err != nil || parsed.Kind != KindTopic || parsed.Tenant != "public" || parsed.Namespace != "functions" {
			t.Errorf("%q: %s is not a package topic of public/functions (%v)", p, topic, err)
		}
	}
}

// TestOpenAtLocations: a path that is a package location opens as one (with
// the URL policy); anything else is looked for in its upload topic, which
// needs the broker.
func TestOpenAtLocations(t *testing.T) {
	fnDir := t.TempDir()
	file := filepath.Join(fnDir, "f.jar")
	if err := os.WriteFile(file, []byte("jar bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{DownloadDirectory: t.TempDir(), FunctionsDirectory: fnDir, EnableReferencingFunctionsDirectoryFiles: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenAt(context.Background(), "file://"+file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "jar bytes" {
		t.Errorf("file URL: %q", b)
	}
	if _, err := s.OpenAt(context.Background(), "file:///etc/passwd"); !errors.Is(err, ErrURLNotAllowed) {
		t.Errorf("file URL outside the functions directory: %v, want ErrURLNotAllowed", err)
	}
	if _, err := s.OpenAt(context.Background(), "public/default/fn/f.jar"); err == nil {
		t.Error("an upload path opened without a broker")
	}
}

// TestByPathPackageManagement: with package management, upload and
// download by path use the packages service under the path as a package
// name, as Java does, and a path that is no package name is refused.
func TestByPathPackageManagement(t *testing.T) {
	fake := &fakePackages{pkgs: map[string][]byte{}, meta: map[string]packageMetadata{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s := newStore(t, Options{PackageManagement: true, WebServiceURL: srv.URL}, &broker.Broker{HTTP: srv.Client()})
	ctx := context.Background()
	payload := bytes.Repeat([]byte("p"), 100<<10)
	if err := s.UploadAt(ctx, "function://public/default/p@1", bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.pkgs["function/public/default/p/1"]; !ok {
		t.Fatalf("the packages service has %v", fake.pkgs)
	}
	rc, err := s.OpenAt(ctx, "function://public/default/p@1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, payload) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got), len(payload))
	}
	if err := s.UploadAt(ctx, "function://public/default/p@1", strings.NewReader("again")); !errors.Is(err, ErrExists) {
		t.Errorf("upload over an existing package = %v, want ErrExists", err)
	}
	for _, bad := range []string{"public/default/x", "function://public/x", "persistent://public/default/x", "http://example.com/x.jar"} {
		err := s.UploadAt(ctx, bad, strings.NewReader("x"))
		if !errors.Is(err, ErrInvalidPackageName) || !strings.Contains(err.Error(), "Invalid package name '"+bad+"'") {
			t.Errorf("UploadAt(%q) = %v, want ErrInvalidPackageName", bad, err)
		}
	}
	if _, err := s.OpenAt(ctx, "public/default/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenAt(no package name) = %v, want ErrNotFound", err)
	}
	if _, err := s.OpenAt(ctx, "function://public/default/missing@1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenAt(missing) = %v, want ErrNotFound", err)
	}
}
