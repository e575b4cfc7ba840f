// Package e2e holds end-to-end tests: our worker binary, as separate
// processes, against the real Pulsar standalone that `make test` starts, the
// real pulsar-admin and the real instance runtimes.
//
// Every test has its own functions namespace, workers, ports and function
// names, and runs in parallel with the others (go test -parallel 3 in
// scripts/test.sh): run one at a time, as the Java-heavy ones once were, the
// package no longer fit CI's time. Java instances that a loaded machine could
// starve past three missed health checks get long liveness intervals.
package e2e

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

type workerInfo struct {
	WorkerID       string `json:"workerId"`
	WorkerHostname string `json:"workerHostname"`
	Port           int    `json:"port"`
}

// startCluster starts n workers sharing a fresh functions namespace and waits
// until each is initialized.
func startCluster(t *testing.T, p harness.Pulsar, n int, overrides map[string]any) []*harness.Worker {
	t.Helper()
	ns := "public/" + harness.UniqueName("fw")
	ov := map[string]any{"pulsarFunctionsNamespace": ns}
	for k, v := range overrides {
		ov[k] = v
	}
	var ws []*harness.Worker
	for i := range n {
		id := fmt.Sprintf("worker-%d", i+1)
		port := harness.FreePort(t)
		ws = append(ws, harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, ov)))
	}
	for _, w := range ws {
		w.WaitReady(60 * time.Second)
	}
	return ws
}

// expectMembers waits until every worker in ws lists exactly ws as members
// (workerId, hostname, port) and all name the same leader, which it returns.
func expectMembers(t *testing.T, ws []*harness.Worker, timeout time.Duration) workerInfo {
	t.Helper()
	want := make([]workerInfo, len(ws))
	for i, w := range ws {
		want[i] = workerInfo{WorkerID: w.ID, WorkerHostname: "127.0.0.1", Port: w.Port}
	}
	slices.SortFunc(want, func(a, b workerInfo) int { return strings.Compare(a.WorkerID, b.WorkerID) })
	var leader workerInfo
	harness.Eventually(t, timeout, "members and leader agree", func() error {
		var leaders []workerInfo
		for _, w := range ws {
			var got []workerInfo
			if err := w.GetJSON("/admin/v2/worker/cluster", &got); err != nil {
				return err
			}
			slices.SortFunc(got, func(a, b workerInfo) int { return strings.Compare(a.WorkerID, b.WorkerID) })
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s lists %v, want %v", w.ID, got, want)
			}
			var l workerInfo
			if err := w.GetJSON("/admin/v2/worker/cluster/leader", &l); err != nil {
				return err
			}
			leaders = append(leaders, l)
		}
		for _, l := range leaders[1:] {
			if l != leaders[0] {
				return fmt.Errorf("workers name different leaders: %v", leaders)
			}
		}
		if !slices.Contains(want, leaders[0]) {
			return fmt.Errorf("leader %v is not a member", leaders[0])
		}
		// Each worker's own view (ours: the broker's active-consumer events)
		// agrees: only the leader answers leader/ready, once it has taken
		// over (a write before then is answered 503 "Leader not yet ready").
		// A Java worker that does not lead is not asked.
		for _, w := range ws {
			if w.Kind == harness.KindJava && w.ID != leaders[0].WorkerID {
				continue
			}
			code, _ := harness.Do(t, "GET", w.URL()+"/admin/v2/worker/cluster/leader/ready", nil)
			if want := map[bool]int{true: 200, false: 503}[w.ID == leaders[0].WorkerID]; code != want {
				return fmt.Errorf("%s: leader/ready %d, want %d", w.ID, code, want)
			}
		}
		leader = leaders[0]
		return nil
	})
	return leader
}

func find(ws []*harness.Worker, id string) (*harness.Worker, []*harness.Worker) {
	var hit *harness.Worker
	var rest []*harness.Worker
	for _, w := range ws {
		if w.ID == id {
			hit = w
		} else {
			rest = append(rest, w)
		}
	}
	return hit, rest
}

func TestThreeWorkersFormOneCluster(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ws := startCluster(t, p, 3, nil)
	leader := expectMembers(t, ws, 30*time.Second)
	t.Logf("leader: %+v", leader)

	// Exactly the leader says so in its metrics.
	for _, w := range ws {
		_, body := harness.Do(t, "GET", w.URL()+"/metrics", nil)
		want := fmt.Sprintf(`pulsar_function_worker_is_leader{cluster="standalone"} %d`, map[bool]int{true: 1}[w.ID == leader.WorkerID])
		if !strings.Contains(string(body), want) {
			t.Errorf("%s /metrics lacks %q", w.ID, want)
		}
	}
	var assignments map[string][]string
	if err := ws[0].GetJSON("/admin/v2/worker/assignments", &assignments); err != nil || len(assignments) != 0 {
		t.Errorf("assignments = %v, %v; want {} before any function exists", assignments, err)
	}
}

func TestLeaderKilledWithSIGKILL(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ws := startCluster(t, p, 3, nil)
	leader := expectMembers(t, ws, 30*time.Second)
	victim, rest := find(ws, leader.WorkerID)

	start := time.Now()
	victim.Signal(syscall.SIGKILL)
	newLeader := expectMembers(t, rest, 60*time.Second)
	t.Logf("kill -9 of leader %s: %s took over after %s", leader.WorkerID, newLeader.WorkerID, time.Since(start).Round(time.Millisecond))
	if newLeader.WorkerID == leader.WorkerID {
		t.Fatalf("dead worker %s is still leader", leader.WorkerID)
	}
}

func TestLeaderStoppedWithSIGTERM(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ws := startCluster(t, p, 3, nil)
	leader := expectMembers(t, ws, 30*time.Second)
	victim, rest := find(ws, leader.WorkerID)

	start := time.Now()
	victim.Signal(syscall.SIGTERM)
	// A clean leave hands over within a couple of seconds.
	newLeader := expectMembers(t, rest, 5*time.Second)
	t.Logf("SIGTERM of leader %s: %s took over after %s", leader.WorkerID, newLeader.WorkerID, time.Since(start).Round(time.Millisecond))
	code, err := victim.Wait(15 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("worker exit code %d, %v; want 0", code, err)
	}
}
