package packages

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
