package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// TestUploadDownloadByPath drives the distribution's pulsar-admin
// `functions upload --path` and `functions download --path` against one of
// our workers with package management on and off: the download returns the
// uploaded bytes either way (with it on, through the broker's packages
// service, as Java), and with it on a path that is no package name is
// refused with Java's answer.
func TestUploadDownloadByPath(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	src := filepath.Join(t.TempDir(), "blob.bin")
	blob := bytes.Repeat([]byte("by path\x00\xff"), 300_000) // 2.7 MB
	if err := os.WriteFile(src, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pm := range []bool{true, false} {
		name := "package management off"
		if pm {
			name = "package management on"
		}
		t.Run(name, func(t *testing.T) {
			w := startCluster(t, p, 1, map[string]any{"functionsWorkerEnablePackageManagement": pm})[0]
			pkg := harness.UniqueName("bypath")
			path := "function://public/default/" + pkg + "@1"
			rest := "/admin/v3/packages/function/public/default/" + pkg + "/1"
			out, err := p.PulsarAdmin(t, w.URL(), "functions", "upload", "--source-file", src, "--path", path)
			if err != nil || !strings.Contains(out, "Uploaded successfully") {
				t.Fatalf("upload: %v\n%s", err, out)
			}
			dest := filepath.Join(t.TempDir(), "blob.out")
			if out, err := p.PulsarAdmin(t, w.URL(), "functions", "download", "--path", path, "--destination-file", dest); err != nil {
				t.Fatalf("download: %v\n%s", err, out)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, blob) {
				t.Errorf("download --path %s: %d bytes, want the %d uploaded", path, len(got), len(blob))
			}
			if !pm {
				return
			}
			// Stored where Java stores it: the broker's packages service.
			code, body := p.Admin(t, "GET", rest+"/metadata", nil)
			if code != 200 {
				t.Errorf("package %s in the packages service: %d %s", path, code, body)
			}
			t.Cleanup(func() { p.Admin(t, "DELETE", rest, nil) })
			bad := "public/default/" + harness.UniqueName("x")
			out, err = p.PulsarAdmin(t, w.URL(), "functions", "upload", "--source-file", src, "--path", bad)
			if err == nil || !strings.Contains(out, "Invalid package name '"+bad+"'") {
				t.Errorf("upload --path %s: %v\n%s", bad, err, out)
			}
		})
	}
}
