package packages

import (
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		kind    Kind
		wantErr bool
		check   func(t *testing.T, p Path)
	}{
		{in: "builtin://kafka", kind: KindBuiltin, check: func(t *testing.T, p Path) { eq(t, p.Name, "kafka") }},
		{in: "builtin://", wantErr: true},
		{in: "builtin://a/b", wantErr: true},
		{in: "builtin://..", wantErr: true},
		{in: "http://example.com/f.jar", kind: KindHTTP},
		{in: "https://example.com:8443/a/b.nar?x=1", kind: KindHTTP},
		{in: "http:///nohost", wantErr: true},
		{in: "https://exa mple.com/", wantErr: true},
		{in: "file:///opt/functions/a.jar", kind: KindFile, check: func(t *testing.T, p Path) { eq(t, p.File, "/opt/functions/a.jar") }},
		{in: "file:/opt/functions/./x/../a.jar", kind: KindFile, check: func(t *testing.T, p Path) { eq(t, p.File, "/opt/functions/a.jar") }},
		{in: "file:///opt/my%20dir/a.jar", kind: KindFile, check: func(t *testing.T, p Path) { eq(t, p.File, "/opt/my dir/a.jar") }},
		{in: "file://host/opt/a.jar", wantErr: true},
		{in: "file:relative.jar", wantErr: true},
		{in: "file:///a.jar?x", wantErr: true},
		{in: "function://public/default/fn@3", kind: KindPackage, check: func(t *testing.T, p Path) {
			eq(t, p.Type, "function")
			eq(t, p.Tenant, "public")
			eq(t, p.Namespace, "default")
			eq(t, p.Name, "fn")
			eq(t, p.Version, "3")
		}},
		{in: "sink://t/ns/s", kind: KindPackage, check: func(t *testing.T, p Path) { eq(t, p.Version, "latest") }},
		{in: "source://t/ns/s@v1.2", kind: KindPackage},
		{in: "source://t/ns@1", wantErr: true},
		{in: "source://t/ns/s/x@1", wantErr: true},
		{in: "function://t/ns/s@", wantErr: true},
		{in: "function://t/ns/s@1@2", wantErr: true},
		{in: "function://t//s@1", wantErr: true},
		{in: "function://t/ns/..@1", wantErr: true},
		{in: "persistent://public/functions/package-a.b.c-0123", kind: KindTopic, check: func(t *testing.T, p Path) {
			eq(t, p.Tenant, "public")
			eq(t, p.Namespace, "functions")
			eq(t, p.Name, "package-a.b.c-0123")
		}},
		{in: "persistent://public/functions", wantErr: true},
		{in: "persistent://public/functions/a/b", wantErr: true},
		{in: "non-persistent://public/functions/x", wantErr: true},
		{in: "ftp://example.com/x", wantErr: true},
		{in: "public/default/my%3Afn/7d5c-0e7b-my.jar", kind: KindDistributedLog},
		{in: "functional/ns/fn/uuid-f.jar", kind: KindDistributedLog}, // Java's prefix check would call this a package URL
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "builtin://a\nb", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePath(%q) = %+v, want error", tt.in, p)
				}
				if !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("error %v is not ErrInvalidPath", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if p.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v", p.Kind, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}
