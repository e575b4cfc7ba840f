package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// adoptingLauncher is a fakeLauncher whose processes outlive their Manager,
// as transient scopes outlive the worker.
type adoptingLauncher struct {
	fakeLauncher
	adoptions int
}

func (l *adoptingLauncher) Adopt(_ context.Context, name string, pid int) (Process, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.started {
		if p.pid == pid && p.spec.Name == name && !p.exited() {
			l.adoptions++
			return p, nil
		}
	}
	return nil, errors.New("no such process")
}

func records(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// A worker restart: the old Manager stops and leaves its processes running;
// the new one adopts them before it knows its assignments, keeps those still
// assigned unchanged, restarts the changed one and stops the unassigned one.
func TestRestartedWorkerAdoptsItsInstances(t *testing.T) {
	l := &adoptingLauncher{fakeLauncher: fakeLauncher{serve: true}}
	o := testOptions(t)
	o.StateDir = t.TempDir()
	f := &countingFetcher{dir: o.DownloadDir}
	a0 := assignment("public", "default", "a", 0, pb.FunctionDetails_JAVA, 1)
	a1 := assignment("public", "default", "a", 1, pb.FunctionDetails_JAVA, 1)
	b0 := assignment("t2", "ns2", "b", 0, pb.FunctionDetails_JAVA, 1)
	keys := []string{"public/default/a:0", "public/default/a:1", "t2/ns2/b:0"}

	m1, stop1 := startManager(t, o, l, f)
	e1 := &testEnv{m: m1, launch: &l.fakeLauncher, fetch: f}
	m1.Apply([]*pb.Assignment{a0, a1, b0})
	pids := map[string]int{}
	for _, k := range keys {
		pids[k] = e1.waitState(t, k, StateRunning).PID
	}
	stop1()
	for _, p := range l.starts() {
		if p.exited() {
			t.Fatalf("%s was stopped with the worker", p.spec.Name)
		}
	}
	want := []string{"pulsar-fn-public-default-a-0.json", "pulsar-fn-public-default-a-1.json", "pulsar-fn-t2-ns2-b-0.json"}
	if got := records(t, o.StateDir); len(got) != 3 {
		t.Fatalf("records after stop = %v, want %v", got, want)
	}
	pkgDir := filepath.Join(o.DownloadDir, "public", "default", "a", "0")
	if _, err := os.Stat(pkgDir); err != nil {
		t.Fatalf("download directory of a running instance deleted on stop: %v", err)
	}

	m2 := NewManager(o, f, l)
	if n := m2.Adopt(context.Background()); n != 3 {
		t.Fatalf("Adopt = %d, want 3", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m2.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e2 := &testEnv{m: m2, launch: &l.fakeLauncher, fetch: f}
	// Health checks resume before any assignment is known.
	for _, k := range keys {
		if got := e2.waitState(t, k, StateRunning).PID; got != pids[k] {
			t.Fatalf("%s: adopted pid %d, want %d", k, got, pids[k])
		}
	}
	if n := len(l.starts()); n != 3 {
		t.Fatalf("%d starts before the first Apply, want 3 (none new)", n)
	}

	a1v2 := assignment("public", "default", "a", 1, pb.FunctionDetails_JAVA, 2)
	m2.Apply([]*pb.Assignment{a0, a1v2})
	eventually(t, 10*time.Second, "b:0 stopped and a:1 restarted", func() bool {
		_, hasB := e2.info(t, "t2/ns2/b:0")
		i, ok := e2.info(t, "public/default/a:1")
		return !hasB && ok && i.State == StateRunning && i.PID != pids["public/default/a:1"]
	})
	if i := e2.waitState(t, "public/default/a:0", StateRunning); i.PID != pids["public/default/a:0"] {
		t.Fatalf("unchanged a:0 restarted: pid %d, was %d", i.PID, pids["public/default/a:0"])
	}
	byName := map[string]*fakeProc{}
	for _, p := range l.starts()[:3] {
		byName[p.spec.Name] = p
	}
	if !byName["pulsar-fn-t2-ns2-b-0"].exited() || !byName["pulsar-fn-public-default-a-1"].exited() || byName["pulsar-fn-public-default-a-0"].exited() {
		t.Fatal("want the unassigned and the changed process stopped, the unchanged one running")
	}
	if n := len(l.starts()); n != 4 {
		t.Fatalf("%d starts, want 4 (only the changed instance again)", n)
	}
	eventually(t, 5*time.Second, "records of the running instances only", func() bool {
		return len(records(t, o.StateDir)) == 2
	})
}

// Records whose process is gone, or that cannot be read, are dropped; the
// instance starts afresh once assigned.
func TestAdoptSkipsGoneProcessesAndBadRecords(t *testing.T) {
	l := &adoptingLauncher{fakeLauncher: fakeLauncher{serve: true}}
	o := testOptions(t)
	o.StateDir = t.TempDir()
	f := &countingFetcher{dir: o.DownloadDir}
	a0 := assignment("public", "default", "a", 0, pb.FunctionDetails_JAVA, 1)
	m1, stop1 := startManager(t, o, l, f)
	e1 := &testEnv{m: m1, launch: &l.fakeLauncher, fetch: f}
	m1.Apply([]*pb.Assignment{a0})
	e1.waitState(t, "public/default/a:0", StateRunning)
	stop1()
	l.starts()[0].exit(ExitInfo{Code: -1, Signal: 9}) // dies while no worker runs
	for name, body := range map[string]string{
		"garbage.json":                  "{not json",
		"pulsar-fn-x-y-z-0.json":        `{"key":"x/y/z:0","name":"other-name","pid":1,"grpcPort":1,"instance":"AA=="}`,
		".record-123":                   "partial",
		"pulsar-fn-missing-fields.json": `{"key":"x/y/z:0"}`,
	} {
		if err := os.WriteFile(filepath.Join(o.StateDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m2, _ := startManager(t, o, l, f)
	if n := m2.Adopt(context.Background()); n != 0 {
		t.Fatalf("Adopt = %d, want 0", n)
	}
	if got, _ := os.ReadDir(o.StateDir); len(got) != 0 {
		t.Fatalf("state directory after Adopt holds %d entries, want none", len(got))
	}
	m2.Apply([]*pb.Assignment{a0})
	e2 := &testEnv{m: m2, launch: &l.fakeLauncher, fetch: f}
	e2.waitState(t, "public/default/a:0", StateRunning)
	if n := len(l.starts()); n != 2 {
		t.Fatalf("%d starts, want 2", n)
	}
}

// Without an Adopter (plain processes) nothing is recorded and the worker
// stops its instances on the way out, as before.
func TestPlainProcessesStopWithTheWorker(t *testing.T) {
	l := &fakeLauncher{serve: true}
	o := testOptions(t)
	o.StateDir = t.TempDir()
	e := newEnvWith(t, o, l)
	e.m.Apply([]*pb.Assignment{assignment("public", "default", "a", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, "public/default/a:0", StateRunning)
	e.cancel()
	if !l.starts()[0].exited() {
		t.Fatal("plain process left running")
	}
	if got := records(t, o.StateDir); len(got) != 0 {
		t.Fatalf("records %v, want none", got)
	}
}

func newEnvWith(t *testing.T, o Options, l *fakeLauncher) *testEnv {
	f := &countingFetcher{dir: o.DownloadDir}
	m, stop := startManager(t, o, l, f)
	return &testEnv{m: m, launch: l, fetch: f, cancel: stop}
}

// An appliance without the Pulsar distribution (Go functions only) still
// starts instances: they run in the worker's directory instead.
func TestInstancesRunWithoutPulsarHome(t *testing.T) {
	l := &fakeLauncher{serve: true}
	o := testOptions(t)
	o.PulsarHome = filepath.Join(t.TempDir(), "no-such-dir")
	e := newEnvWith(t, o, l)
	e.m.Apply([]*pb.Assignment{assignment("public", "default", "a", 0, pb.FunctionDetails_JAVA, 1)})
	e.waitState(t, "public/default/a:0", StateRunning)
	if dir := l.starts()[0].spec.Dir; dir != "" {
		t.Fatalf("instance directory %q, want the worker's (\"\")", dir)
	}
}
