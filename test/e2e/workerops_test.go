package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// joinCluster starts one more worker in the functions namespace of ws[0],
// with the same overrides.
func joinCluster(t *testing.T, p harness.Pulsar, ws []*harness.Worker, id string, overrides map[string]any) *harness.Worker {
	t.Helper()
	ov := map[string]any{"pulsarFunctionsNamespace": functionsNamespace(t, ws[0])}
	for k, v := range overrides {
		ov[k] = v
	}
	port := harness.FreePort(t)
	w := harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, ov))
	w.WaitReady(60 * time.Second)
	return w
}

// placement maps each instance of function name to its worker, from the
// assignments w sees.
func placement(t *testing.T, w *harness.Worker, name string) map[string]string {
	t.Helper()
	var a map[string][]string
	if err := w.GetJSON("/admin/v2/worker/assignments", &a); err != nil {
		t.Fatalf("assignments: %v", err)
	}
	out := map[string]string{}
	for worker, keys := range a {
		for _, k := range keys {
			if strings.HasPrefix(k, "public/default/"+name+":") {
				out[k] = worker
			}
		}
	}
	return out
}

// perWorker counts instances per worker, every worker of ws listed.
func perWorker(ws []*harness.Worker, placed map[string]string) map[string]int {
	n := map[string]int{}
	for _, w := range ws {
		n[w.ID] = 0
	}
	for _, w := range placed {
		n[w]++
	}
	return n
}

// restStatus is GET .../status on w: the same JSON pulsar-admin prints.
func restStatus(w *harness.Worker, name string) (functionStatus, error) {
	var st functionStatus
	err := w.GetJSON("/admin/v3/functions/public/default/"+name+"/status", &st)
	return st, err
}

// waitAllRunning waits until n instances of name run, on the workers placed says.
func waitAllRunning(t *testing.T, w *harness.Worker, name string, n int, timeout time.Duration) functionStatus {
	t.Helper()
	return waitAllRunningAnd(t, w, name, n, timeout, "", func(functionStatus) error { return nil })
}

// waitAllRunningAnd is waitAllRunning until also more(status) holds; what
// says what more waits for, in the timeout's message.
func waitAllRunningAnd(t *testing.T, w *harness.Worker, name string, n int, timeout time.Duration, what string, more func(functionStatus) error) functionStatus {
	t.Helper()
	var st functionStatus
	harness.Eventually(t, timeout, fmt.Sprintf("%d instances of %s running%s", n, name, what), func() error {
		var err error
		if st, err = restStatus(w, name); err != nil {
			return err
		}
		if st.NumInstances != n || st.NumRunning != n {
			return fmt.Errorf("%d of %d running", st.NumRunning, st.NumInstances)
		}
		return more(st)
	})
	return st
}

func put(t *testing.T, url string) (int, string) {
	t.Helper()
	code, body := harness.Do(t, http.MethodPut, url, nil)
	return code, strings.TrimSpace(string(body))
}

type drainStatus struct {
	Status    string `json:"status"`
	LastError string `json:"lastError"`
}

func getDrainStatus(t *testing.T, url string) drainStatus {
	t.Helper()
	code, body := harness.Do(t, http.MethodGet, url, nil)
	var st drainStatus
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return st
}

// A worker that joins gets nothing until a rebalance; the rebalance (the
// real pulsar-admin, sent to a worker that does not lead, which redirects
// to the leader) then moves instances from the busiest workers to it, one
// at a time, until the counts differ by at most one: 3/3/0 becomes 2/2/2
// with exactly two moves, both to the new worker.
func TestRebalanceAfterALateJoin(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ov := map[string]any{"instanceLivenessCheckFreqMs": 5000}
	ws := startCluster(t, p, 2, ov)
	expectMembers(t, ws, 30*time.Second)
	name := harness.UniqueName("rebal")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "6")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitAllRunning(t, ws[0], name, 6, 3*time.Minute)

	late := joinCluster(t, p, ws, "worker-3", ov)
	ws = append(ws, late)
	leader := expectMembers(t, ws, 30*time.Second)
	before := placement(t, ws[0], name)
	if got := perWorker(ws, before); !maps.Equal(got, map[string]int{"worker-1": 3, "worker-2": 3, "worker-3": 0}) {
		t.Fatalf("before the rebalance: %v, want 3/3 and nothing on the late worker", got)
	}

	var member *harness.Worker
	for _, w := range ws {
		if w.ID != leader.WorkerID {
			member = w
		}
	}
	if o, err := p.PulsarAdmin(t, member.URL(), "functions-worker", "rebalance"); err != nil {
		t.Fatalf("functions-worker rebalance at %s (not the leader): %v\n%s", member.ID, err, o)
	}
	var after map[string]string
	harness.Eventually(t, 30*time.Second, "2/2/2 after the rebalance", func() error {
		after = placement(t, ws[0], name)
		if got := perWorker(ws, after); !maps.Equal(got, map[string]int{"worker-1": 2, "worker-2": 2, "worker-3": 2}) {
			return fmt.Errorf("placement %v", got)
		}
		return nil
	})
	var moved []string
	for k, w := range after {
		if before[k] != w {
			moved = append(moved, k+": "+before[k]+" -> "+w)
		}
	}
	slices.Sort(moved)
	t.Logf("moved by the rebalance: %v", moved)
	if len(moved) != 2 || !strings.HasSuffix(moved[0], "-> worker-3") || !strings.HasSuffix(moved[1], "-> worker-3") {
		t.Errorf("moved %v, want one instance of each busy worker moved to worker-3", moved)
	}
	st := waitAllRunning(t, ws[0], name, 6, 2*time.Minute)
	runs := map[string]int{}
	for _, in := range st.Instances {
		runs[in.Status.WorkerID]++
	}
	if !maps.Equal(runs, map[string]int{"worker-1": 2, "worker-2": 2, "worker-3": 2}) {
		t.Errorf("instances run on %v, want two on each worker", runs)
	}
	// Balanced: a second rebalance is accepted and moves nothing.
	if code, body := put(t, ws[0].URL()+"/admin/v2/worker/rebalance"); code != http.StatusNoContent {
		t.Fatalf("second rebalance: %d %s", code, body)
	}
	time.Sleep(2 * time.Second) // give a wrong move the time to show
	if again := placement(t, ws[0], name); !maps.Equal(again, after) {
		t.Errorf("a rebalance of a balanced cluster moved instances: %v -> %v", after, again)
	}
}

// Draining a worker (asked at a worker that is neither the leader nor the
// drained one) moves all its instances to the others; its status, asked
// at the drained worker itself, reports SUCCESS; it then gets no new
// instances, cannot be drained again, and its record goes once it leaves.
func TestDrainMovesAllInstances(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ws := startCluster(t, p, 3, map[string]any{"instanceLivenessCheckFreqMs": 5000, "failureCheckFreqMs": 1000})
	leader := expectMembers(t, ws, 30*time.Second)
	name := harness.UniqueName("drain")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "6")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitAllRunning(t, ws[0], name, 6, 3*time.Minute)
	var victim, asker *harness.Worker
	for _, w := range ws {
		switch {
		case w.ID == leader.WorkerID:
		case victim == nil:
			victim = w
		default:
			asker = w
		}
	}
	if got := perWorker(ws, placement(t, ws[0], name)); got[victim.ID] != 2 {
		t.Fatalf("before the drain: %v", got)
	}
	if st := getDrainStatus(t, victim.URL()+"/admin/v2/worker/drain"); st != (drainStatus{"ERROR", "Worker " + victim.ID + " not found in drain records"}) {
		t.Errorf("status before any drain: %+v", st)
	}

	if code, body := put(t, asker.URL()+"/admin/v2/worker/leader/drain?workerId="+victim.ID); code != http.StatusNoContent {
		t.Fatalf("drain %s at %s: %d %s", victim.ID, asker.ID, code, body)
	}
	var seen []string
	harness.Eventually(t, 30*time.Second, "drain status SUCCESS", func() error {
		st := getDrainStatus(t, victim.URL()+"/admin/v2/worker/drain")
		if len(seen) == 0 || seen[len(seen)-1] != st.Status {
			seen = append(seen, st.Status)
		}
		if st.Status != "SUCCESS" {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	t.Logf("drain statuses seen: %v", seen)
	// SUCCESS means the leader wrote the moves; ws[0] may not lead, and its
	// view follows the assignment topic a moment later (seconds under load).
	harness.Eventually(t, 30*time.Second, "ws[0] sees the drain's moves", func() error {
		placed := placement(t, ws[0], name)
		if got := perWorker(ws, placed); got[victim.ID] != 0 || len(placed) != 6 {
			return fmt.Errorf("placement %v, want 6 and nothing on %s", got, victim.ID)
		}
		return nil
	})
	waitAllRunningAnd(t, ws[0], name, 6, 2*time.Minute, ", none on the drained worker", func(st functionStatus) error {
		for _, in := range st.Instances {
			if in.Status.WorkerID == victim.ID {
				return fmt.Errorf("instance %d still on the drained worker", in.InstanceID)
			}
		}
		return nil
	})
	harness.Eventually(t, time.Minute, "the drained worker's processes gone", func() error {
		if pids := processesMentioning("\"name\":\"" + name + "\""); len(pids) != 6 {
			return fmt.Errorf("%d instance processes, want 6", len(pids))
		}
		return nil
	})

	code, body := put(t, ws[0].URL()+"/admin/v2/worker/leader/drain?workerId="+victim.ID)
	if want := fmt.Sprintf(`{"reason":"Worker %s was not yet removed after a prior drain op; try later"}`, victim.ID); code != http.StatusPreconditionFailed || body != want {
		t.Errorf("second drain: %d %s, want 412 %s", code, body, want)
	}
	code, body = put(t, ws[0].URL()+"/admin/v2/worker/leader/drain?workerId=nobody")
	if want := `{"reason":"Worker nobody is not among the current workers in the system"}`; code != http.StatusBadRequest || body != want {
		t.Errorf("drain of an unknown worker: %d %s, want 400 %s", code, body, want)
	}

	// A drained worker gets nothing new.
	name2 := harness.UniqueName("afterdrain")
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name2, in, out+"2", bin, "--parallelism", "2")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	harness.Eventually(t, 30*time.Second, name2+" placed", func() error {
		if placed := placement(t, ws[0], name2); len(placed) != 2 {
			return fmt.Errorf("placed %v", placed)
		}
		return nil
	})
	if got := perWorker(ws, placement(t, ws[0], name2)); got[victim.ID] != 0 {
		t.Errorf("new function placed on the drained worker: %v", got)
	}

	// Once it leaves, the leader forgets the drain.
	victim.Signal(syscall.SIGTERM)
	if _, err := victim.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "drain record gone", func() error {
		st := getDrainStatus(t, asker.URL()+"/admin/v2/worker/leader/drain?workerId="+victim.ID)
		if st.Status != "ERROR" || !strings.Contains(st.LastError, "not found in drain records") {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}
