package fault

import (
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// workerWithInstances returns a live worker that runs at least one instance
// (by the processes whose parent it is), preferring one that does not lead.
func (c *cluster) workerWithInstances() *harness.Worker {
	c.t.Helper()
	leader, _ := c.leader()
	var pick *harness.Worker
	for _, w := range c.live() {
		for _, p := range instanceProcesses(c.ns) {
			if p.ppid == w.Pid() && (pick == nil || pick == leader) {
				pick = w
			}
		}
	}
	if pick == nil {
		c.t.Fatal("no worker runs an instance")
	}
	return pick
}

// orphansOf lists the instance processes whose parent is one of pids, or that were
// left to init (ppid 1) or a subreaper: after their worker has exited, any
// such process has outlived it.
func (c *cluster) orphansOf(pids ...int) []process {
	var out []process
	live := map[int]bool{}
	for _, w := range c.live() {
		live[w.Pid()] = true
	}
	for _, p := range instanceProcesses(c.ns) {
		if slices.Contains(pids, p.ppid) || !live[p.ppid] {
			out = append(out, p)
		}
	}
	return out
}

// TestWorkerStoppedWithInstances: SIGTERM, then kill -9, of a worker running
// instances (the worker process only, as systemd's KillMode=mixed or an OOM
// kill would). Its instances must not outlive it (they would run twice once
// moved), the others take them over, and the restarted worker rejoins.
func TestWorkerStoppedWithInstances(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "SIGTERM / kill -9 of a worker with instances")
	c := newCluster(t, p, res, 3, nil)
	expect := map[string]fate{"spread": present(4), "single": present(1)}
	for name, f := range expect {
		if code, body, err := c.submit(c.live()[0], http.MethodPost, name, f.parallelism[0], false); err != nil || !ok(code) {
			t.Fatalf("create %s: %d %s %v", name, code, body, err)
		}
	}
	c.converge("setup", time.Now(), 2*time.Minute, expect)

	var orphans int
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		victim := c.workerWithInstances()
		pid := victim.Pid()
		start := time.Now()
		c.stop(victim, sig)
		// The kernel delivers the parent-death signal at once; give the
		// instances a moment to die, then none may be left.
		var left []process
		for range 20 {
			if left = c.orphansOf(pid); len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(left) > 0 {
			orphans += len(left)
			res.halfApplied += len(left)
			t.Errorf("%v of %s: instances outlived it by 2 s: %v", sig, victim.ID, left)
		}
		d, _ := c.converge(fmt.Sprintf("after %v of %s", sig, victim.ID), start, 2*time.Minute, expect)
		res.recovered(d)
		c.restart(victim.ID)
		c.converge(fmt.Sprintf("%s restarted after %v", victim.ID, sig), time.Now(), 2*time.Minute, expect)
	}
	res.note = fmt.Sprintf("instances outliving their worker: %d", orphans)
}

// TestFrozenInstance: an instance stopped with SIGSTOP is replaced after
// missed health checks, while /metrics and status keep answering.
func TestFrozenInstance(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "SIGSTOP of an instance")
	c := newCluster(t, p, res, 1, nil)
	expect := map[string]fate{"frozen": present(2)}
	if code, body, err := c.submit(c.live()[0], http.MethodPost, "frozen", 2, false); err != nil || !ok(code) {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	c.converge("setup", time.Now(), 2*time.Minute, expect)
	var victim process
	for _, p := range instanceProcesses(c.ns) {
		if p.key == c.ns+"/frozen:0" {
			victim = p
		}
	}
	if victim.pid == 0 {
		t.Fatal("no process of instance 0")
	}
	w := c.live()[0]
	start := time.Now()
	if err := syscall.Kill(victim.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(victim.pid, syscall.SIGKILL) })
	// Until the frozen process is gone and a new one runs: time every
	// /metrics and status call (measured, not asserted: they must answer).
	var worstMetrics, worstStatus time.Duration
	calls := 0
	harness.Eventually(t, 2*time.Minute, "the frozen instance replaced", func() error {
		for path, worst := range map[string]*time.Duration{"/metrics": &worstMetrics, c.fnPath("frozen") + "/status": &worstStatus} {
			t0 := time.Now()
			code, _, err := do(mustRequest(http.MethodGet, w.URL()+path))
			if err != nil || code != http.StatusOK {
				t.Errorf("GET %s while an instance is frozen: %d %v", path, code, err)
			}
			*worst = max(*worst, time.Since(t0))
			calls++
		}
		for _, p := range instanceProcesses(c.ns) {
			if p.pid == victim.pid {
				return fmt.Errorf("pid %d still there (stopped %v)", p.pid, p.stopped)
			}
		}
		return nil
	})
	replaced := time.Since(start)
	d, _ := c.converge("after SIGSTOP of instance 0", start, 2*time.Minute, expect)
	res.recovered(d)
	res.note = fmt.Sprintf("frozen pid gone after %s; worst of %d calls: /metrics %s, status %s", replaced.Round(100*time.Millisecond),
		calls, worstMetrics.Round(time.Millisecond), worstStatus.Round(time.Millisecond))
}

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}
