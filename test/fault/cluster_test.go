package fault

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// op is one create, update or delete sent while a worker is killed.
type op struct {
	kind  string // create, update, delete
	name  string
	par   int // the parallelism asked for (create, update)
	prev  fate
	via   string
	code  int
	body  string
	err   error
	taken time.Duration
}

func (o *op) String() string {
	if o.err != nil {
		return fmt.Sprintf("%s %s through %s: %v after %s", o.kind, o.name, o.via, o.err, o.taken.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s %s through %s: %d %s after %s", o.kind, o.name, o.via, o.code, strings.TrimSpace(o.body), o.taken.Round(time.Millisecond))
}

// outcome is what the op's answer tells of the function's fate.
func (o *op) outcome() fate {
	acked := o.err == nil && ok(o.code)
	refused := o.err == nil && o.code >= 400 && o.code < 500
	switch {
	case refused:
		return o.prev
	case acked && o.kind == "delete":
		return absent()
	case acked:
		return present(o.par)
	case o.kind == "delete":
		return fate{either: true, parallelism: o.prev.parallelism}
	case o.kind == "create":
		return fate{either: true, parallelism: []int{o.par}}
	default: // an update without an answer: the old or the new parallelism
		return fate{exists: true, parallelism: append([]int{o.par}, o.prev.parallelism...)}
	}
}

// TestKillDuringChanges: kill -9 of the leader, then of a member, twice, each
// in the middle of a create (with an uploaded package), an update and a
// delete sent through the three workers (one of them the victim). Every
// acknowledged change must hold, every other be all or nothing, and no
// instance run twice; the victim then restarts and rejoins.
func TestKillDuringChanges(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "kill -9 leader/member during create/update/delete")
	c := newCluster(t, p, res, 3, nil)
	expect := map[string]fate{}
	for i := range 5 {
		name := fmt.Sprintf("base-%d", i)
		if code, body, err := c.submit(c.live()[i%3], http.MethodPost, name, 1, false); err != nil || !ok(code) {
			t.Fatalf("create %s: %d %s %v", name, code, body, err)
		}
		expect[name] = present(1)
	}
	c.converge("setup", time.Now(), 2*time.Minute, expect)

	next := 0
	var all []*op
	for round, role := range []string{"leader", "member", "leader", "member"} {
		leader, err := c.leader()
		if err != nil {
			t.Fatal(err)
		}
		victim := leader
		if role == "member" {
			for _, w := range c.live() {
				if w != leader {
					victim = w
				}
			}
		}
		live := c.live()
		// The operations: a new function, an update of an existing one, a
		// delete of another (the victim receives one of them).
		var existing []string
		for name, f := range expect {
			if f.exists {
				existing = append(existing, name)
			}
		}
		rand.Shuffle(len(existing), func(i, j int) { existing[i], existing[j] = existing[j], existing[i] })
		ops := []*op{{kind: "create", name: fmt.Sprintf("fn-%d", next), par: 1, prev: absent()}}
		next++
		if len(existing) >= 2 {
			upd := existing[0]
			ops = append(ops,
				&op{kind: "update", name: upd, par: 3 - expect[upd].parallelism[0], prev: expect[upd]},
				&op{kind: "delete", name: existing[1], prev: expect[existing[1]]})
		}
		var wg sync.WaitGroup
		for i, o := range ops {
			w := live[(i+round)%len(live)]
			o.via = w.ID
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				switch o.kind {
				case "create":
					o.code, o.body, o.err = c.submit(w, http.MethodPost, o.name, o.par, true)
				case "update":
					o.code, o.body, o.err = c.submit(w, http.MethodPut, o.name, o.par, false)
				case "delete":
					o.code, o.body, o.err = c.remove(w, o.name)
				}
				o.taken = time.Since(start)
			}()
		}
		// In the middle of them: the operations take 0.1-1 s here.
		time.Sleep(time.Duration(10+rand.IntN(100)) * time.Millisecond)
		killed := time.Now()
		c.stop(victim, syscall.SIGKILL)
		wg.Wait()
		all = append(all, ops...)
		for _, o := range ops {
			t.Logf("round %d (kill -9 of %s %s): %v", round+1, role, victim.ID, o)
			expect[o.name] = o.outcome()
		}
		d, got := c.converge(fmt.Sprintf("round %d, after kill -9 of %s %s", round+1, role, victim.ID), killed, 2*time.Minute, expect)
		res.recovered(d)
		settle(expect, got)
		c.restart(victim.ID)
		c.converge(fmt.Sprintf("round %d, %s restarted", round+1, victim.ID), time.Now(), 2*time.Minute, expect)
		if t.Failed() {
			return
		}
	}
	acked := 0
	for _, o := range all {
		if o.err == nil && ok(o.code) {
			acked++
		}
	}
	res.note = fmt.Sprintf("4 rounds, %d of %d changes acknowledged, the others all-or-nothing", acked, len(all))
}

// TestConcurrentCreatesAndDeletes: 50 creates at once through three workers,
// then 50 deletes at once: every one answered with success, every function
// there (and running once) after the creates and gone after the deletes.
func TestConcurrentCreatesAndDeletes(t *testing.T) {
	t.Parallel()
	p := harness.RequirePulsar(t)
	res := experiment(t, "50 concurrent creates, then 50 deletes")
	c := newCluster(t, p, res, 3, nil)
	const n = 50
	expect := map[string]fate{}
	live := c.live()
	run := func(kind string) (failed int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			name := fmt.Sprintf("many-%02d", i)
			w := live[i%len(live)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := &op{kind: kind, name: name, par: 1, via: w.ID, prev: present(1)}
				if kind == "create" {
					o.prev = absent()
					o.code, o.body, o.err = c.submit(w, http.MethodPost, name, 1, false)
				} else {
					o.code, o.body, o.err = c.remove(w, name)
				}
				mu.Lock()
				defer mu.Unlock()
				expect[name] = o.outcome()
				if o.err != nil || !ok(o.code) {
					failed++
					t.Errorf("%v", o)
				}
			}()
		}
		wg.Wait()
		return failed
	}
	start := time.Now()
	failedCreates := run("create")
	t.Logf("%d creates answered in %s", n, time.Since(start).Round(time.Millisecond))
	d, _ := c.converge("after 50 creates", start, 4*time.Minute, expect)
	res.recovered(d)
	start = time.Now()
	failedDeletes := run("delete")
	t.Logf("%d deletes answered in %s", n, time.Since(start).Round(time.Millisecond))
	d, _ = c.converge("after 50 deletes", start, 3*time.Minute, expect)
	res.recovered(d)
	res.note = fmt.Sprintf("failed answers: %d creates, %d deletes; recovery = until all run / all gone", failedCreates, failedDeletes)
}
