package fault

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax: 1m) on a new directory
// and unmounts it when the test ends. Without the right to mount, the test is
// skipped locally and fails under CI=true.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "download")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		harness.Unavailable(t, fmt.Sprintf("cannot mount a tmpfs for a full disk (needs root or CAP_SYS_ADMIN): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// regularFiles lists the regular files under dir.
func regularFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestDiskFullDuringDownload: the worker's downloadDirectory is a 1 MiB
// tmpfs and the function's package (the Go function, uploaded) is bigger, so
// the download fills the disk. The function must say why it does not run,
// leave no partial file behind, and start once there is space.
func TestDiskFullDuringDownload(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "disk full in downloadDirectory")
	dir := mountTmpfs(t, "1m")
	c := newCluster(t, p, res, 1, map[string]any{"downloadDirectory": dir})
	w := c.live()[0]
	if fi, err := os.Stat(c.bin); err != nil || fi.Size() < 2<<20 {
		t.Fatalf("the package must be larger than the disk: %v %v", fi, err)
	}
	code, body, err := c.submit(w, http.MethodPost, "big", 1, true)
	if err != nil || !ok(code) {
		// Refusing the create is fine too, if it says why and leaves nothing.
		t.Logf("create with a full download disk: %d %s %v", code, body, err)
	}
	expect := map[string]fate{"big": present(1)}
	if err != nil || !ok(code) {
		expect["big"] = absent()
	}

	// The reason shows in status (as long as the function exists), and no
	// partial file is left on the full disk.
	var reason string
	if expect["big"].exists {
		harness.Eventually(t, 2*time.Minute, "status says the disk is full", func() error {
			var st struct {
				Instances []struct {
					Status struct {
						Running bool   `json:"running"`
						Error   string `json:"error"`
					} `json:"status"`
				} `json:"instances"`
			}
			if err := w.GetJSON(c.fnPath("big")+"/status", &st); err != nil {
				return err
			}
			if len(st.Instances) != 1 || st.Instances[0].Status.Running || !strings.Contains(st.Instances[0].Status.Error, "no space left on device") {
				return fmt.Errorf("status %+v", st)
			}
			reason = st.Instances[0].Status.Error
			return nil
		})
	} else if !strings.Contains(body, "no space left on device") {
		res.halfApplied++
		t.Errorf("create refused without saying the disk is full: %d %s %v", code, body, err)
	}
	t.Logf("reason given: %s", reason)
	// Nothing partial on the disk: the package cache's objects and the
	// instance's package appear only complete; a download in flight (the
	// retries, with backoff) writes to .cache/tmp/dl-*, removed when it
	// fails, so one there in every sample over 3 s was left behind.
	inTmp := map[string]int{}
	const samples = 10
	for range samples {
		for _, f := range regularFiles(dir) {
			if strings.Contains(f, "/.cache/tmp/") {
				inTmp[f]++
				continue
			}
			res.halfApplied++
			t.Errorf("a file on the full disk: %s", f)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for f, n := range inTmp {
		if n == samples {
			res.halfApplied++
			t.Errorf("partial download left on the full disk: %s", f)
		}
	}
	if ps := instanceProcesses(c.ns); len(ps) > 0 {
		res.halfApplied += len(ps)
		t.Errorf("instances run without their package: %v", ps)
	}
	c.countExits()

	// Space comes back: the instance starts without anyone touching it.
	start := time.Now()
	if out, err := exec.Command("mount", "-o", "remount,size=256m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s bigger: %v: %s", dir, err, out)
	}
	if !expect["big"].exists {
		if code, body, err := c.submit(w, http.MethodPost, "big", 1, true); err != nil || !ok(code) {
			t.Fatalf("create once there is space: %d %s %v", code, body, err)
		}
		expect["big"] = present(1)
	}
	d, _ := c.converge("after space came back", start, 3*time.Minute, expect)
	res.recovered(d)
	if i := strings.LastIndex(reason, "/"); i >= 0 {
		reason = "..." + reason[i:] // the end says it: .../dl-123: no space left on device
	}
	res.note = "status said: " + reason
}
