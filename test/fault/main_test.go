// Package fault is the fault suite: real worker processes (our binary, through
// test/harness) on a real Pulsar standalone, faults injected from outside
// (kill -9, SIGTERM, SIGSTOP, bad config files, a full disk, a broker that
// freezes or restarts), and after each experiment the same questions:
//
//   - lost: a function (or change) acknowledged to the client that is not
//     there, or not running, once the cluster has recovered;
//   - duplicates: samples (taken every ~200 ms during the whole experiment)
//     in which one instance ran as more than one process, counted by the
//     instance arguments of the processes;
//   - half-applied: a change that only part of the cluster shows, a function
//     whose instances do not all run, assignments or processes that do not
//     match what status says, partial files left behind;
//   - exits: workers that exited without the test stopping them;
//   - recovery: from the fault until every check holds again.
//
// Every figure must be 0 (recovery is measured, not asserted). TestMain
// prints one line per experiment after the run, also when every test passed
// (to stdout, and to the file PFW_FAULT_SUMMARY names, which scripts/test.sh
// prints: go test shows only "ok" of a passing package without -v).
//
// The broker experiment restarts a broker, so it runs against a second
// standalone of this package's own (scripts/pulsar.sh with its own ports and
// state directory), started in the background by TestMain and stopped at the
// end. Every experiment has its own workers, namespaces and functions and
// calls t.Parallel: the broker one (first in file order) waits for its
// standalone while the others run beside it on the shared one.
package fault

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// result is one experiment's line in the summary.
type result struct {
	name        string
	lost        int
	duplicates  int
	halfApplied int
	exits       int
	recovery    time.Duration // the longest recovery among the experiment's faults
	faults      int           // how many faults were injected
	note        string
	failed      bool
}

var (
	resultsMu sync.Mutex
	results   []*result
)

// experiment registers the result line of the running test; the test fills
// it in. A test that fails is marked as such in the table.
func experiment(t *testing.T, name string) *result {
	t.Helper()
	r := &result{name: name}
	resultsMu.Lock()
	results = append(results, r)
	resultsMu.Unlock()
	start := time.Now()
	t.Cleanup(func() {
		r.failed = t.Failed()
		t.Logf("%s: lost %d, duplicates %d, half-applied %d, worker exits %d, faults %d, recovery %s (%s) [experiment took %s]",
			name, r.lost, r.duplicates, r.halfApplied, r.exits, r.faults, r.recovery.Round(10*time.Millisecond), r.note,
			time.Since(start).Round(time.Second))
	})
	return r
}

// recovered records one recovery time, keeping the longest.
func (r *result) recovered(d time.Duration) {
	r.faults++
	if d > r.recovery {
		r.recovery = d
	}
}

// printSummary prints the table to stdout, which go test shows with -v or
// when the package fails, and writes it to the file PFW_FAULT_SUMMARY names,
// if any: scripts/test.sh (make test) prints that file after go test, since
// go test shows nothing but "ok" of a package that passes.
func printSummary() {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fault suite summary (recovery: longest time from a fault until every check held again)\n")
	fmt.Fprintf(&b, "%-50s %5s %5s %5s %5s %7s %10s  %s\n", "experiment", "lost", "dups", "half", "exits", "faults", "recovery", "")
	for _, r := range results {
		verdict := "ok"
		if r.failed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "%-50s %5d %5d %5d %5d %7d %10s  %s %s\n", r.name, r.lost, r.duplicates, r.halfApplied, r.exits,
			r.faults, r.recovery.Round(10*time.Millisecond), verdict, r.note)
	}
	fmt.Print("\n" + b.String())
	if path := os.Getenv("PFW_FAULT_SUMMARY"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "fault: write the summary to %s: %v\n", path, err)
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	if wantBroker() {
		ownStandalone.startInBackground()
	}
	code := m.Run()
	ownStandalone.stop()
	if goFunctionBin != "" {
		_ = os.RemoveAll(filepath.Dir(goFunctionBin))
	}
	printSummary()
	os.Exit(code)
}

// wantBroker reports whether this run includes the broker experiments, which
// need a standalone of their own: not with -short (unit tests only), not
// without the distribution, not when -run leaves them out.
func wantBroker() bool {
	if testing.Short() || os.Getenv("PULSAR_HOME") == "" {
		return false
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		top, _, _ := strings.Cut(f.Value.String(), "/")
		re, err := regexp.Compile(top)
		if err != nil {
			return false
		}
		return re.MatchString("TestBrokerFaults")
	}
	return true
}
