package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite internal/config/testdata/*.golden")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestRuntimeChoice: asking for any runtime but the process runtime, through
// the class name or the deprecated container-factory blocks, is an error that
// names the key, the value and the runtime we support. Each case's problems
// are in testdata/runtime-choice.golden.
func TestRuntimeChoice(t *testing.T) {
	tests := []struct {
		name    string
		snippet string
		errors  int
	}{
		{"process class", "functionRuntimeFactoryClassName: " + ProcessRuntimeFactoryClass + "\n", 0},
		{"thread class", "functionRuntimeFactoryClassName: " + ThreadRuntimeFactoryClass + "\n", 1},
		{"kubernetes class", "functionRuntimeFactoryClassName: " + KubernetesRuntimeFactoryClass + "\n", 1},
		{"custom class", "functionRuntimeFactoryClassName: com.example.MyRuntimeFactory\n", 1},
		{"kubernetes class with a bad port", "functionRuntimeFactoryClassName: " + KubernetesRuntimeFactoryClass +
			"\nfunctionRuntimeFactoryConfigs:\n  grpcPort: 0\n", 2},
		{"deprecated thread block", "functionRuntimeFactoryClassName: \"\"\nthreadContainerFactory:\n  threadGroupName: g\n", 1},
		{"deprecated process block", "functionRuntimeFactoryClassName: \"\"\nfunctionRuntimeFactoryConfigs: null\nprocessContainerFactory:\n  logDirectory: /l\n", 0},
		{"deprecated kubernetes block", "functionRuntimeFactoryClassName: \"\"\nfunctionRuntimeFactoryConfigs: null\nkubernetesContainerFactory:\n  k8Uri: https://k8s\n", 1},
		{"class wins over a deprecated block", "threadContainerFactory:\n  threadGroupName: g\n", 0},
	}
	var out strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := load(t, tt.snippet)
			if n := len(ps.Errors()); n != tt.errors {
				t.Errorf("%d errors, want %d: %q", n, tt.errors, ps)
			}
			out.WriteString("== " + tt.name + "\n")
			for _, p := range ps {
				out.WriteString(p.Severity.String() + ": " + p.String() + "\n")
			}
		})
	}
	golden(t, "runtime-choice.golden", out.String())
}

// TestBookkeeperAuthKeysWarn: the BookKeeper authentication keys are accepted
// (Java files carry them) but each one set is a warning saying why it does
// nothing here.
func TestBookkeeperAuthKeysWarn(t *testing.T) {
	_, ps := load(t, "bookkeeperClientAuthenticationPlugin: org.apache.bookkeeper.sasl.SASLClientProviderFactory\n"+
		"bookkeeperClientAuthenticationParametersName: clientAuthProviderFactoryClass\n"+
		"bookkeeperClientAuthenticationParameters: x\n")
	if ps.HasErrors() || len(ps) != 3 {
		t.Fatalf("problems = %q, want three warnings", ps)
	}
	for _, p := range ps {
		if p.Severity != Warning || p.Message != BookKeeperAuthNote {
			t.Errorf("problem %s", p)
		}
	}
}
