package packages

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

func TestURLPolicy(t *testing.T) {
	root := t.TempDir()
	fnDir := filepath.Join(root, "functions")
	connDir := filepath.Join(root, "connectors")
	opts := Options{
		FunctionsDirectory:                       fnDir,
		ConnectorsDirectory:                      connDir,
		EnableReferencingFunctionsDirectoryFiles: true,
		EnableReferencingConnectorDirectoryFiles: true,
		AdditionalFunctionsURLPatterns:           []string{`https://repo\.example\.com/functions/.*\.jar`},
		AdditionalConnectorURLPatterns:           []string{`https://repo\.example\.com/connectors/.*`},
	}
	const (
		F = pb.FunctionDetails_FUNCTION
		S = pb.FunctionDetails_SINK
		R = pb.FunctionDetails_SOURCE
		U = pb.FunctionDetails_UNKNOWN
	)
	tests := []struct {
		name string
		opts func(*Options)
		ct   pb.FunctionDetails_ComponentType
		url  string
		ok   bool
	}{
		{name: "file in functions dir", ct: F, url: "file://" + fnDir + "/a.jar", ok: true},
		{name: "file is the functions dir", ct: F, url: "file://" + fnDir, ok: true},
		{name: "file deep in functions dir", ct: F, url: "file://" + fnDir + "/x/y/a.jar", ok: true},
		{name: "dot-dot out of functions dir", ct: F, url: "file://" + fnDir + "/../secret.jar", ok: false},
		{name: "dot-dot staying inside", ct: F, url: "file://" + fnDir + "/x/../a.jar", ok: true},
		{name: "sibling with common prefix", ct: F, url: "file://" + fnDir + "-evil/a.jar", ok: false},
		{name: "function file in connectors dir", ct: F, url: "file://" + connDir + "/a.nar", ok: false},
		{name: "sink file in connectors dir", ct: S, url: "file://" + connDir + "/a.nar", ok: true},
		{name: "source file in functions dir", ct: R, url: "file://" + fnDir + "/a.nar", ok: false},
		{name: "unknown type either dir", ct: U, url: "file://" + connDir + "/a.nar", ok: true},
		{name: "file elsewhere", ct: F, url: "file:///etc/passwd", ok: false},
		{name: "referencing off", ct: F, url: "file://" + fnDir + "/a.jar", ok: false,
			opts: func(o *Options) { o.EnableReferencingFunctionsDirectoryFiles = false }},
		{name: "http matching pattern", ct: F, url: "https://repo.example.com/functions/a.jar", ok: true},
		{name: "http pattern is anchored", ct: F, url: "https://repo.example.com/functions/a.jar.exe", ok: false},
		{name: "http pattern prefix only", ct: F, url: "https://evil.com/?https://repo.example.com/functions/a.jar", ok: false},
		{name: "http normalised before matching", ct: F, url: "https://repo.example.com/connectors/../functions/a.jar", ok: true},
		{name: "http other type's pattern", ct: F, url: "https://repo.example.com/connectors/a.nar", ok: false},
		{name: "sink http pattern", ct: S, url: "https://repo.example.com/connectors/a.nar", ok: true},
		{name: "http no patterns", ct: F, url: "http://example.com/a.jar", ok: false},
		{name: "file via pattern", ct: F, url: "file:///srv/pkgs/a.jar", ok: true,
			opts: func(o *Options) { o.AdditionalFunctionsURLPatterns = []string{`file:///srv/pkgs/.*`} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				tt.opts(&o)
			}
			p, err := newURLPolicy(o)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check(tt.ct, tt.url)
			if tt.ok && err != nil {
				t.Fatalf("Check(%v, %s) = %v, want allowed", tt.ct, tt.url, err)
			}
			if !tt.ok && !errors.Is(err, ErrURLNotAllowed) {
				t.Fatalf("Check(%v, %s) = %v, want ErrURLNotAllowed", tt.ct, tt.url, err)
			}
		})
	}
}

func TestURLPolicyBadPattern(t *testing.T) {
	_, err := newURLPolicy(Options{AdditionalFunctionsURLPatterns: []string{`(?<=x)y`}})
	if err == nil {
		t.Fatal("a pattern RE2 cannot compile must fail, as Pattern.compile fails Java's start-up")
	}
}

func TestCheckURL(t *testing.T) {
	s, err := New(Options{DownloadDirectory: t.TempDir(), AdditionalFunctionsURLPatterns: []string{`https://ok/.*`}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for url, ok := range map[string]bool{
		"https://ok/a.jar":   true,
		"https://bad/a.jar":  false,
		"function://t/n/f@1": true,
		"function://t/n":     false,
		"builtin://kafka":    false,
		"persistent://a/b/c": false,
		"t/n/f/uuid-a.jar":   false,
	} {
		err := s.CheckURL(pb.FunctionDetails_FUNCTION, url)
		if (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", url, err, ok)
		}
	}
}
