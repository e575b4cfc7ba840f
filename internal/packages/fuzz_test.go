package packages

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"builtin://kafka", "http://h/a.jar", "https://h:1/a?b#c", "file:///opt/a.jar", "file:/a",
		"function://t/n/f@1", "sink://t/n/s", "source://t/n/s@v@w", "persistent://public/functions/p-1",
		"t/n/f/uuid-a.jar", "", "://", "function://", "file://h/x", "persistent:///a/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if p.Kind != KindInvalid && p.Kind < KindBuiltin {
				t.Fatalf("kind %v with error", p.Kind)
			}
			return
		}
		switch p.Kind {
		case KindBuiltin:
			if p.Name == "" || strings.Contains(p.Name, "/") {
				t.Fatalf("builtin name %q", p.Name)
			}
		case KindFile:
			if !filepath.IsAbs(p.File) || filepath.Clean(p.File) != p.File {
				t.Fatalf("file %q not absolute and clean", p.File)
			}
		case KindPackage:
			// The URL we would write for it parses back to the same package.
			again, err := ParsePath(packageURL(p.Type, p.Tenant, p.Namespace, p.Name, p.Version))
			if err != nil || again.Tenant != p.Tenant || again.Namespace != p.Namespace || again.Name != p.Name || again.Version != p.Version {
				t.Fatalf("%q: round trip %+v, %v", s, again, err)
			}
		case KindTopic:
			if p.Tenant == "" || p.Namespace == "" || p.Name == "" {
				t.Fatalf("topic %+v", p)
			}
		case KindHTTP:
			if p.URL == nil || p.URL.Host == "" {
				t.Fatalf("http without host: %+v", p)
			}
		case KindDistributedLog:
			if strings.Contains(s, "://") {
				t.Fatalf("%q with a scheme taken for a DistributedLog name", s)
			}
		default:
			t.Fatalf("kind %v without error", p.Kind)
		}
	})
}

// FuzzCheckArchive: whatever the bytes, CheckArchive does not panic, and
// it refuses only with ErrUnsafeArchive.
func FuzzCheckArchive(f *testing.F) {
	for _, es := range [][]entry{
		{{name: "a.py", body: "x"}, {name: "d/b.py", body: "y"}},
		{{name: "../evil", body: "x"}},
		{{name: "l", mode: fs.ModeSymlink | 0o777, body: "d"}, {name: "d/x", body: "1"}},
	} {
		f.Add(makeZip(f, es))
	}
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := CheckArchive(bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, ErrUnsafeArchive) {
			t.Fatalf("CheckArchive = %v, not ErrUnsafeArchive", err)
		}
	})
}
