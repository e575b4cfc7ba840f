package fault

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// fate is what the test knows of a function from the answers it got: it
// exists with one of the parallelisms, it does not exist, or either (an
// operation that failed or got no answer: all or nothing, both are fine).
type fate struct {
	exists      bool
	either      bool  // exists or not: the operation's outcome is unknown
	parallelism []int // allowed parallelisms if it exists
}

func present(p ...int) fate { return fate{exists: true, parallelism: p} }
func absent() fate          { return fate{} }

// violation is one check that does not hold.
type violation struct {
	lost bool // an acknowledged function or change that is not there (else half-applied)
	msg  string
}

func half(format string, args ...any) violation {
	return violation{msg: fmt.Sprintf(format, args...)}
}

func lost(format string, args ...any) violation {
	return violation{lost: true, msg: fmt.Sprintf(format, args...)}
}

// observed is what a check found: each listed function's parallelism.
type observed map[string]int

// check asks every live worker about the namespace and returns what does not
// hold: the same functions, configs and assignments on every live worker,
// matching expect; every instance of every function running, as exactly one
// process, a child of the worker its assignment names; nothing else running.
func (c *cluster) check(expect map[string]fate) (observed, []violation) {
	var vs []violation
	live := c.live()
	if len(live) == 0 {
		return nil, []violation{half("no live worker")}
	}
	tenant, namespace, _ := strings.Cut(c.ns, "/")

	// 1. The same list everywhere.
	var names []string
	for i, w := range live {
		var l []string
		if err := w.GetJSON("/admin/v3/functions/"+c.ns, &l); err != nil {
			return nil, []violation{half("list on %s: %v", w.ID, err)}
		}
		sort.Strings(l)
		if i == 0 {
			names = l
		} else if !slices.Equal(l, names) {
			vs = append(vs, half("%s lists %v, %s lists %v", live[0].ID, names, w.ID, l))
		}
	}

	// 2. The same config everywhere.
	got := observed{}
	for _, name := range names {
		var first string
		for _, w := range live {
			var cfg map[string]any
			if err := w.GetJSON(c.fnPath(name), &cfg); err != nil {
				vs = append(vs, half("get %s on %s: %v", name, w.ID, err))
				continue
			}
			b, _ := json.Marshal(cfg)
			if first == "" {
				first = string(b)
				p, _ := cfg["parallelism"].(float64)
				got[name] = int(p)
			} else if string(b) != first {
				vs = append(vs, half("%s differs on %s: %s, elsewhere %s", name, w.ID, b, first))
			}
		}
	}

	// 3. What the answers said.
	for name, f := range expect {
		p, listed := got[name]
		switch {
		case f.either && !listed:
		case f.exists && !listed:
			vs = append(vs, lost("%s was acknowledged but is not listed", name))
		case !f.exists && !f.either && listed:
			vs = append(vs, half("%s is listed (parallelism %d) but its delete was acknowledged or its create refused", name, p))
		case listed && len(f.parallelism) > 0 && !slices.Contains(f.parallelism, p):
			if f.either || len(f.parallelism) > 1 {
				vs = append(vs, half("%s has parallelism %d, want one of %v", name, p, f.parallelism))
			} else {
				vs = append(vs, lost("%s has parallelism %d, acknowledged %v", name, p, f.parallelism))
			}
		}
	}
	for name := range got {
		if _, ok := expect[name]; !ok {
			vs = append(vs, half("%s is listed but the test never created it", name))
		}
	}

	// 4. Every instance running, as status says.
	wantKeys := map[string]bool{}
	for name, p := range got {
		for i := range p {
			wantKeys[fmt.Sprintf("%s/%s/%s:%d", tenant, namespace, name, i)] = true
		}
		var st struct {
			NumInstances int `json:"numInstances"`
			NumRunning   int `json:"numRunning"`
			Instances    []struct {
				InstanceID int `json:"instanceId"`
				Status     struct {
					Running bool   `json:"running"`
					Error   string `json:"error"`
				} `json:"status"`
			} `json:"instances"`
		}
		if err := live[0].GetJSON(c.fnPath(name)+"/status", &st); err != nil {
			vs = append(vs, half("status of %s: %v", name, err))
			continue
		}
		if st.NumInstances != p || st.NumRunning != p {
			v := half("%s: %d of %d instances running (parallelism %d): %+v", name, st.NumRunning, st.NumInstances, p, st.Instances)
			v.lost = expect[name].exists && !expect[name].either
			vs = append(vs, v)
		}
	}

	// 5. The same assignments everywhere, exactly the instances, on live workers.
	pids := map[string]int{}
	for _, w := range live {
		pids[w.ID] = w.Pid()
	}
	var assigned map[string]string
	for _, w := range live {
		var byWorker map[string][]string
		if err := w.GetJSON("/admin/v2/worker/assignments", &byWorker); err != nil {
			vs = append(vs, half("assignments on %s: %v", w.ID, err))
			continue
		}
		a := map[string]string{}
		for worker, keys := range byWorker {
			for _, k := range keys {
				if strings.HasPrefix(k, c.ns+"/") {
					a[k] = worker
				}
			}
		}
		if assigned == nil {
			assigned = a
		} else if !maps.Equal(a, assigned) {
			vs = append(vs, half("%s reports assignments %v, %s %v", w.ID, a, live[0].ID, assigned))
		}
	}
	for k := range wantKeys {
		if _, ok := assigned[k]; !ok {
			vs = append(vs, half("%s is not assigned", k))
		}
	}
	for k, worker := range assigned {
		if !wantKeys[k] {
			vs = append(vs, half("stale assignment %s on %s", k, worker))
		} else if _, ok := pids[worker]; !ok {
			vs = append(vs, half("%s is assigned to %s, which is not a live worker", k, worker))
		}
	}

	// 6. Processes: one per instance, under its worker, nothing else.
	procs := map[string][]process{}
	for _, p := range instanceProcesses(c.ns) {
		procs[p.key] = append(procs[p.key], p)
	}
	for k, ps := range procs {
		switch {
		case len(ps) > 1:
			vs = append(vs, half("instance %s runs %d times: %v", k, len(ps), ps))
		case !wantKeys[k]:
			vs = append(vs, half("instance %s runs (%v) but no function has it", k, ps[0]))
		case pids[assigned[k]] != ps[0].ppid:
			vs = append(vs, half("instance %s runs under ppid %d, assigned to %s (pid %d)", k, ps[0].ppid, assigned[k], pids[assigned[k]]))
		}
	}
	for k := range wantKeys {
		if len(procs[k]) == 0 {
			vs = append(vs, half("instance %s has no process", k))
		}
	}
	return got, vs
}

// converge waits until every check holds (and the members agree), and
// returns how long that took from since and what it observed. If they do not
// hold within timeout, the last violations are counted into the result as
// lost or half-applied, and the test fails.
func (c *cluster) converge(what string, since time.Time, timeout time.Duration, expect map[string]fate) (time.Duration, observed) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.countExits()
		got, vs := c.check(expect)
		if len(vs) == 0 {
			if err := c.membersAgree(); err != nil {
				vs = append(vs, half("%v", err))
			}
		}
		if len(vs) == 0 {
			d := time.Since(since)
			c.t.Logf("%s: every check holds after %s", what, d.Round(10*time.Millisecond))
			return d, got
		}
		if time.Now().After(deadline) {
			for _, v := range vs {
				if v.lost {
					c.res.lost++
				} else {
					c.res.halfApplied++
				}
				c.t.Errorf("%s: after %s: lost=%v: %s", what, timeout, v.lost, v.msg)
			}
			return time.Since(since), got
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// settle turns every uncertain fate (exists or not, one of two parallelisms) into what the cluster shows now that it
// has converged, so that later rounds know it.
func settle(expect map[string]fate, got observed) {
	for name, f := range expect {
		if !f.either && len(f.parallelism) <= 1 {
			continue
		}
		if p, ok := got[name]; ok {
			expect[name] = present(p)
		} else {
			expect[name] = absent()
		}
	}
}
