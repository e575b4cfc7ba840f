package reload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// The watcher tests do not run in parallel: SIGHUP reaches every live Watcher.

const (
	testDebounce = 100 * time.Millisecond
	// waitLong bounds every wait for something that must happen.
	waitLong = 10 * time.Second
	// quiet is how long a test waits to be sure something does not happen.
	quiet = 5 * testDebounce
)

type testWatch struct {
	w       *Watcher
	reloads atomic.Int32

	mu     sync.Mutex
	events []observed
}

type observed struct {
	name    string
	op      fsnotify.Op
	counted bool
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startWatch runs a Watcher on path until the test ends.
func startWatch(t *testing.T, path string, debounce time.Duration) *testWatch {
	t.Helper()
	tw := &testWatch{}
	log := slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := NewWatcher(path, func(context.Context) { tw.reloads.Add(1) }, log)
	if err != nil {
		t.Fatal(err)
	}
	w.Debounce = debounce
	w.observe = func(ev fsnotify.Event, counted bool) {
		tw.mu.Lock()
		defer tw.mu.Unlock()
		tw.events = append(tw.events, observed{filepath.Clean(ev.Name), ev.Op, counted})
	}
	tw.w = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tw
}

// waitReloads waits until exactly n reloads happened, then checks that no more
// follow within the quiet period.
func (tw *testWatch) waitReloads(t *testing.T, n int32) {
	t.Helper()
	waitFor(t, func() bool { return tw.reloads.Load() >= n }, "%d reloads (have %d)", n, func() any { return tw.reloads.Load() })
	time.Sleep(quiet)
	if got := tw.reloads.Load(); got != n {
		t.Fatalf("reloads = %d, want %d", got, n)
	}
}

// seen waits until the watcher handled an event for name and returns whether it counted.
func (tw *testWatch) seen(t *testing.T, name string) bool {
	t.Helper()
	var counted bool
	waitFor(t, func() bool {
		tw.mu.Lock()
		defer tw.mu.Unlock()
		for _, e := range tw.events {
			if e.name == name {
				counted = counted || e.counted
				return true
			}
		}
		return false
	}, "an event for %s", name, nil)
	return counted
}

func waitFor(t *testing.T, cond func() bool, what string, arg any, now func() any) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			if now != nil {
				t.Fatalf("timed out waiting for "+what, arg, now())
			}
			t.Fatalf("timed out waiting for "+what, arg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// realTempDir is t.TempDir with symlinks resolved (macOS /var -> /private/var),
// so expected event names match.
func realTempDir(t *testing.T) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWatchInPlaceWrite(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	f, err := os.OpenFile(cfg, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("logLevel: debug\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tw.waitReloads(t, 1)

	write(t, cfg, "logLevel: warn\n")
	tw.waitReloads(t, 2)
}

func TestWatchRenameOver(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	// Like most tools: write a temporary file, rename it over the config.
	tmp := filepath.Join(dir, ".functions_worker.yml.tmp1234")
	write(t, tmp, "logLevel: debug\n")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 1)

	// Like vim with backupcopy=no: move the original aside, write anew, drop the backup.
	if err := os.Rename(cfg, cfg+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, cfg, "logLevel: warn\n")
	if err := os.Remove(cfg + "~"); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 2)

	// And again: the watch survives the replacements.
	write(t, tmp, "logLevel: error\n")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 3)
}

func TestWatchSedInPlace(t *testing.T) {
	sed, err := exec.LookPath("sed")
	if err != nil {
		t.Skip("no sed")
	}
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	if out, err := exec.Command(sed, "-i", "s/info/debug/", cfg).CombinedOutput(); err != nil {
		t.Fatalf("sed -i: %v: %s", err, out)
	}
	tw.waitReloads(t, 1)
	if out, err := exec.Command(sed, "-i", "s/debug/warn/", cfg).CombinedOutput(); err != nil {
		t.Fatalf("sed -i: %v: %s", err, out)
	}
	tw.waitReloads(t, 2)
}

func TestWatchDeleteAndRecreate(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if !tw.seen(t, cfg) {
		t.Fatal("the removal of the config file did not count")
	}
	// A missing file is not a config: no reload until it is back.
	tw.waitReloads(t, 0)

	write(t, cfg, "logLevel: debug\n")
	tw.waitReloads(t, 1)
	write(t, cfg, "logLevel: warn\n")
	tw.waitReloads(t, 2)
}

func TestWatchDirectoryRemovedAndRecreated(t *testing.T) {
	root := realTempDir(t)
	dir := filepath.Join(root, "pulsar")
	cfg := filepath.Join(dir, "functions_worker.yml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 0)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, cfg, "logLevel: debug\n")
	tw.waitReloads(t, 1)
	write(t, cfg, "logLevel: warn\n")
	tw.waitReloads(t, 2)
}

// TestWatchConfigMapSwap replays how the kubelet updates a mounted ConfigMap:
// file -> ..data/file, ..data -> ..<timestamp>, and an update swaps ..data.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	version := func(n int, content string) {
		ts := filepath.Join(dir, "..2024_01_0"+string(rune('0'+n)))
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "functions_worker.yml"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			if err := os.RemoveAll(filepath.Join(dir, "..2024_01_0"+string(rune('0'+n-1)))); err != nil {
				t.Fatal(err)
			}
		}
	}
	version(1, "logLevel: info\n")
	if err := os.Symlink(filepath.Join("..data", "functions_worker.yml"), cfg); err != nil {
		t.Fatal(err)
	}
	tw := startWatch(t, cfg, testDebounce)

	version(2, "logLevel: debug\n")
	tw.waitReloads(t, 1)
	version(3, "logLevel: warn\n")
	tw.waitReloads(t, 2)

	// The watch followed the chain: an in-place edit of the current target counts.
	write(t, filepath.Join(dir, "..2024_01_03", "functions_worker.yml"), "logLevel: error\n")
	tw.waitReloads(t, 3)
}

// TestWatchDirectorySymlinkSwap: the config's directory is a symlink that is
// pointed at another directory.
func TestWatchDirectorySymlinkSwap(t *testing.T) {
	root := realTempDir(t)
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(root, v), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, v, "functions_worker.yml"), "logLevel: info # "+v+"\n")
	}
	link := filepath.Join(root, "conf")
	if err := os.Symlink("v1", link); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(link, "functions_worker.yml")
	tw := startWatch(t, cfg, testDebounce)

	// Edits through the link, or to its target, count.
	write(t, filepath.Join(root, "v1", "functions_worker.yml"), "logLevel: debug\n")
	tw.waitReloads(t, 1)

	// Swap the link atomically, as ln -sfn with a rename does.
	tmp := filepath.Join(root, "conf.tmp")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 2)

	// Now the new target is watched and the old one is not.
	write(t, filepath.Join(root, "v1", "functions_worker.yml"), "logLevel: error\n")
	tw.waitReloads(t, 2)
	write(t, filepath.Join(root, "v2", "functions_worker.yml"), "logLevel: warn\n")
	tw.waitReloads(t, 3)
}

func TestWatchIgnoresOtherFiles(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, testDebounce)

	other := filepath.Join(dir, "broker.conf")
	write(t, other, "x=1\n")
	if tw.seen(t, other) {
		t.Error("a write to another file in the directory counted")
	}
	if err := os.Rename(other, filepath.Join(dir, "functions_worker.yml.bak")); err != nil {
		t.Fatal(err)
	}
	if tw.seen(t, filepath.Join(dir, "functions_worker.yml.bak")) {
		t.Error("a rename of another file in the directory counted")
	}
	tw.waitReloads(t, 0)

	// The config file still counts.
	write(t, cfg, "logLevel: debug\n")
	if !tw.seen(t, cfg) {
		t.Error("a write to the config file did not count")
	}
	tw.waitReloads(t, 1)
}

func TestWatchDebouncesBursts(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	tw := startWatch(t, cfg, 3*testDebounce)

	// An editor's burst: truncate, several writes, a chmod, a rename dance.
	for i := range 20 {
		write(t, cfg, strings.Repeat("# padding\n", i)+"logLevel: debug\n")
	}
	if err := os.Chmod(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := cfg + ".tmp"
	write(t, tmp, "logLevel: warn\n")
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 1)
}

func TestWatchSIGHUP(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	// startWatch returns after NewWatcher registered for SIGHUP, so the signal
	// cannot kill the test process.
	tw := startWatch(t, cfg, testDebounce)

	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 1)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	tw.waitReloads(t, 2)
}

// TestWatchReloadsNeverOverlap: a slow reload holds back the next one.
func TestWatchReloadsNeverOverlap(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	var running, overlaps, calls atomic.Int32
	w, err := NewWatcher(cfg, func(context.Context) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(3 * testDebounce)
		running.Add(-1)
		calls.Add(1)
	}, slog.New(slog.NewTextHandler(tlogWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Debounce = testDebounce
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done; w.Close() }()

	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(testDebounce / 2)
	write(t, cfg, "logLevel: debug\n") // during the first reload
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { return calls.Load() >= 2 }, "%d reloads", 2, nil)
	if overlaps.Load() != 0 {
		t.Errorf("reload ran concurrently with itself %d times", overlaps.Load())
	}
}

func TestWatchMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	err := Watch(context.Background(), filepath.Join(dir, "functions_worker.yml"), func(context.Context) {}, nil)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Watch in a missing directory: err = %v, want one naming %s", err, dir)
	}
}

func TestWatchStopsWithContext(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, cfg, func(context.Context) {}, slog.New(slog.NewTextHandler(tlogWriter{t}, nil)))
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Watch = %v after cancel, want nil", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestResolve(t *testing.T) {
	root := realTempDir(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "real", "..v1"), 0o755))
	write(t, filepath.Join(root, "real", "..v1", "f.yml"), "")
	must(os.Symlink("..v1", filepath.Join(root, "real", "..data")))
	must(os.Symlink("..data/f.yml", filepath.Join(root, "real", "f.yml")))
	must(os.Symlink("real", filepath.Join(root, "etc")))
	must(os.Symlink(filepath.Join(root, "loop"), filepath.Join(root, "loop")))

	for _, tc := range []struct {
		path  string
		names []string
		dirs  []string
	}{
		{filepath.Join(root, "real", "..v1", "f.yml"), []string{"real/..v1/f.yml"}, []string{"real/..v1"}},
		{filepath.Join(root, "etc", "f.yml"),
			[]string{"etc", "real/f.yml", "real/..data", "real/..v1/f.yml"},
			[]string{"", "real", "real/..v1"}},
		{filepath.Join(root, "real", "missing", "f.yml"), []string{"real/missing/f.yml"}, []string{"real"}},
		{filepath.Join(root, "loop", "f.yml"), []string{"loop"}, []string{""}},
	} {
		got := resolve(tc.path)
		rel := func(ps []string) []string {
			var out []string
			for _, p := range ps {
				r, _ := filepath.Rel(root, p)
				if r == "." {
					r = ""
				}
				out = append(out, r)
			}
			return out
		}
		if g := rel(got.names); strings.Join(g, ",") != strings.Join(tc.names, ",") {
			t.Errorf("resolve(%s).names = %q, want %q", tc.path, g, tc.names)
		}
		if g := rel(got.dirs); strings.Join(g, ",") != strings.Join(tc.dirs, ",") {
			t.Errorf("resolve(%s).dirs = %q, want %q", tc.path, g, tc.dirs)
		}
	}
}

// blockingReloads runs a Watcher whose reloads block until their context is
// cancelled (a huge file decoding), recording how each one ended.
type blockingReloads struct {
	started   atomic.Int32
	cancelled atomic.Int32
}

func (b *blockingReloads) reload(ctx context.Context) {
	b.started.Add(1)
	<-ctx.Done()
	b.cancelled.Add(1)
}

// TestWatchNewChangeSupersedesReload: a reload stuck in a long decode is
// cancelled by the next change, which is then reloaded.
func TestWatchNewChangeSupersedesReload(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	var br blockingReloads
	w, err := NewWatcher(cfg, br.reload, slog.New(slog.NewTextHandler(tlogWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Debounce = testDebounce
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done; w.Close() }()

	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { return br.started.Load() == 1 }, "%d reloads started", 1, nil)
	write(t, cfg, "logLevel: debug\n")
	waitFor(t, func() bool { return br.cancelled.Load() == 1 && br.started.Load() == 2 },
		"the first reload cancelled and a second one started (%v)", "", func() any {
			return fmt.Sprintf("started %d, cancelled %d", br.started.Load(), br.cancelled.Load())
		})
}

// TestWatchStopCancelsReload: shutdown does not wait for a reload stuck in a
// long decode; the reload sees its context cancelled.
func TestWatchStopCancelsReload(t *testing.T) {
	dir := realTempDir(t)
	cfg := filepath.Join(dir, "functions_worker.yml")
	write(t, cfg, "logLevel: info\n")
	var br blockingReloads
	w, err := NewWatcher(cfg, br.reload, slog.New(slog.NewTextHandler(tlogWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { return br.started.Load() == 1 }, "%d reloads started", 1, nil)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(shutdownWait / 2):
		t.Fatal("Run did not return while a reload was in progress")
	}
	if br.cancelled.Load() != 1 {
		t.Error("the reload in progress was not cancelled")
	}
}
