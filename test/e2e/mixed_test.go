package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// TestMixedCluster runs Java functions workers of the pinned distribution and
// ours in one cluster, as an operator replacing Java workers one machine at
// a time has them, in both shapes (1 Java + 2 Go, 2 Java + 1 Go), each once
// with a Java leader and once with a Go leader. Through every worker it
// creates, updates (parallelism up and down, new package, new config),
// stops, starts, restarts and deletes Java, Python and Go functions and a
// source and a sink, rebalances, drains a worker of the other kind and kills
// the leader; after every step every worker must be alive, every instance
// run exactly once where the assignments say, and no assignment be stale.
func TestMixedCluster(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	p.RequireJavaWorkers(t)
	goBin := buildGoFunction(t)
	for _, tc := range []struct {
		javaN, goN int
		leader     string
	}{
		{1, 2, harness.KindJava},
		{1, 2, harness.KindGo},
		{2, 1, harness.KindJava},
		{2, 1, harness.KindGo},
	} {
		t.Run(fmt.Sprintf("%djava-%dgo/%s-leader", tc.javaN, tc.goN, tc.leader), func(t *testing.T) {
			runMixed(t, p, goBin, tc.javaN, tc.goN, tc.leader)
		})
	}
}

// other returns a live worker of kind (other than not), or nil.
func (c *mixedCluster) other(kind, not string) *harness.Worker {
	for _, w := range c.live() {
		if w.Kind == kind && w.ID != not {
			return w
		}
	}
	return nil
}

func runMixed(t *testing.T, p harness.Pulsar, goBin string, javaN, goN int, leaderKind string) {
	c := newMixedCluster(t, p, nil)
	ids := c.chooseIDs(javaN, goN, leaderKind)
	c.startAll(ids)
	leaderID := c.expectMembers(2 * time.Minute)
	if c.kinds[leaderID] != leaderKind {
		t.Fatalf("leader %s is a %s worker, want %s", leaderID, c.kinds[leaderID], leaderKind)
	}
	leader := c.workers[leaderID]
	otherKind := map[string]string{harness.KindGo: harness.KindJava, harness.KindJava: harness.KindGo}[leaderKind]
	// Requests go through both kinds: j is a Java worker, g one of ours.
	j, g := c.other(harness.KindJava, ""), c.other(harness.KindGo, "")

	u := harness.UniqueName("")
	gofn := &fn{kind: "functions", name: "mx-go" + u, parallelism: 3, stopped: map[int]bool{}}
	pyfn := &fn{kind: "functions", name: "mx-py" + u, parallelism: 2, stopped: map[int]bool{}}
	jfn := &fn{kind: "functions", name: "mx-java" + u, parallelism: 1, stopped: map[int]bool{}}
	src := &fn{kind: "sources", name: "mx-src" + u, parallelism: 1, stopped: map[int]bool{}}
	sink := &fn{kind: "sinks", name: "mx-sink" + u, parallelism: 1, stopped: map[int]bool{}}
	fns := map[string]*fn{}
	for _, f := range []*fn{gofn, pyfn, jfn, src, sink} {
		fns[f.name] = f
	}
	topic := func(f *fn, dir string) string { return "persistent://public/default/" + f.name + "-" + dir }
	pyFile := filepath.Join(p.Home, "examples", "python-examples", "exclamation_function.py")
	jar := filepath.Join(p.Home, "examples", "api-examples.jar")

	step(t, "create through every worker", func(t *testing.T) {
		submit(t, j, http.MethodPost, gofn, map[string]any{"runtime": "GO", "inputs": []string{topic(gofn, "in")},
			"output": topic(gofn, "out"), "parallelism": gofn.parallelism, "autoAck": true}, goBin)
		submit(t, g, http.MethodPost, pyfn, map[string]any{"runtime": "PYTHON", "inputs": []string{topic(pyfn, "in")},
			"output": topic(pyfn, "out"), "parallelism": pyfn.parallelism, "autoAck": true,
			"className": "exclamation_function.ExclamationFunction"}, pyFile)
		submit(t, leader, http.MethodPost, jfn, map[string]any{"runtime": "JAVA", "inputs": []string{topic(jfn, "in")},
			"output": topic(jfn, "out"), "parallelism": jfn.parallelism, "autoAck": true,
			"className": "org.apache.pulsar.functions.api.examples.ExclamationFunction"}, jar)
		submit(t, g, http.MethodPost, src, map[string]any{"archive": "builtin://data-generator",
			"topicName": topic(src, "out"), "parallelism": 1, "configs": map[string]any{"sleepBetweenMessages": "200"}}, "")
		submit(t, j, http.MethodPost, sink, map[string]any{"archive": "builtin://data-generator",
			"inputs": []string{topic(src, "out")}, "parallelism": 1}, "")
		for _, f := range fns {
			c.waitRunningEverywhere(f, 5*time.Minute)
		}
		c.checkInvariants("create", fns, 2*time.Minute)
		owners := map[string]bool{}
		a, err := assignments(leader, fns)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range a {
			owners[w] = true
		}
		if len(owners) != len(c.live()) {
			t.Errorf("instances run on %v, want on every one of the %d workers", slices.Sorted(maps.Keys(owners)), len(c.live()))
		}
	})

	step(t, "messages flow", func(t *testing.T) {
		for _, f := range []*fn{gofn, pyfn, jfn} {
			c.waitSubscribed(f, topic(f, "in"))
		}
		exclamationRoundTrip(t, p, topic(gofn, "in"), topic(gofn, "out"), 20, "!", false)
		exclamationRoundTrip(t, p, topic(pyfn, "in"), topic(pyfn, "out"), 20, "!", false)
		exclamationRoundTrip(t, p, topic(jfn, "in"), topic(jfn, "out"), 20, "!", true)
		harness.Eventually(t, 2*time.Minute, "the sink reads what the source writes", func() error {
			var st struct {
				Instances []struct {
					Status struct {
						NumReadFromPulsar int64 `json:"numReadFromPulsar"`
					} `json:"status"`
				} `json:"instances"`
			}
			if err := g.GetJSON(sink.path()+"/status", &st); err != nil {
				return err
			}
			if len(st.Instances) != 1 || st.Instances[0].Status.NumReadFromPulsar == 0 {
				return fmt.Errorf("sink status %+v", st)
			}
			return nil
		})
	})

	step(t, "get list status stats alike through every worker", func(t *testing.T) {
		for _, f := range fns {
			c.sameEverywhere(f.path(), nil)
			c.waitRunningEverywhere(f, time.Minute)
		}
		for _, kind := range []string{"functions", "sources", "sinks"} {
			c.sameEverywhere("/admin/v3/"+kind+"/public/default", sortedList)
		}
		for _, f := range []*fn{gofn, pyfn, jfn} {
			c.sameEverywhere(f.path()+"/stats", statsShape)
		}
	})

	step(t, "parallelism up and down", func(t *testing.T) {
		gofn.parallelism = 5
		submit(t, j, http.MethodPut, gofn, map[string]any{"parallelism": 5}, "")
		c.waitRunningEverywhere(gofn, 3*time.Minute)
		c.checkInvariants("parallelism 3 -> 5", fns, 2*time.Minute)
		// Down through a worker of the leader's kind (the leader itself when
		// it is the only one of its kind) ...
		via := c.other(leaderKind, leaderID)
		if via == nil {
			via = leader
		}
		gofn.parallelism = 4
		submit(t, via, http.MethodPut, gofn, map[string]any{"parallelism": 4}, "")
		c.waitRunningEverywhere(gofn, 3*time.Minute)
		c.checkInvariants("parallelism 5 -> 4", fns, 2*time.Minute)
		// ... and the scale-down that stopped every Go worker under a Java leader,
		// with the real pulsar-admin, through a worker of the other kind.
		gofn.parallelism = 2
		via = c.other(otherKind, "")
		if out, err := p.PulsarAdmin(t, via.URL(), "functions", "update", "--tenant", "public", "--namespace", "default",
			"--name", gofn.name, "--parallelism", "2"); err != nil {
			t.Fatalf("functions update --parallelism 2 through %s: %v\n%s", via.ID, err, out)
		}
		c.waitRunningEverywhere(gofn, 3*time.Minute)
		c.checkInvariants("parallelism 4 -> 2", fns, 2*time.Minute)
	})

	step(t, "new package and new config", func(t *testing.T) {
		pyBefore, jBefore := pidsOf(fns, pyfn), pidsOf(fns, jfn)
		submit(t, g, http.MethodPut, pyfn, map[string]any{"className": "exclamation_function.ExclamationFunction"}, pyFile)
		submit(t, j, http.MethodPut, jfn, map[string]any{"userConfig": map[string]any{"step": "new-config"}}, "")
		// Every instance restarts, on whichever kind of worker it runs.
		for _, r := range []struct {
			f      *fn
			before map[string]int
		}{{pyfn, pyBefore}, {jfn, jBefore}} {
			harness.Eventually(t, 3*time.Minute, "every instance of "+r.f.name+" restarted", func() error {
				now := pidsOf(fns, r.f)
				for k, pid := range r.before {
					if now[k] == pid {
						return fmt.Errorf("%s still pid %d", k, pid)
					}
				}
				return nil
			})
		}
		harness.Eventually(t, time.Minute, "the new config everywhere", func() error {
			for _, w := range c.live() {
				var cfg struct {
					UserConfig map[string]any `json:"userConfig"`
				}
				if err := w.GetJSON(jfn.path(), &cfg); err != nil {
					return err
				}
				if cfg.UserConfig["step"] != "new-config" {
					return fmt.Errorf("%s: userConfig %v", w.ID, cfg.UserConfig)
				}
			}
			return nil
		})
		c.waitRunningEverywhere(pyfn, 4*time.Minute)
		c.waitRunningEverywhere(jfn, 4*time.Minute)
		c.checkInvariants("new package and config", fns, 2*time.Minute)
		c.waitSubscribed(pyfn, topic(pyfn, "in"))
		exclamationRoundTrip(t, p, topic(pyfn, "in"), topic(pyfn, "out"), 10, "!", false)
	})

	step(t, "stop start restart", func(t *testing.T) {
		post(t, j, gofn.path()+"/stop")
		for i := range gofn.parallelism {
			gofn.stopped[i] = true
		}
		c.checkInvariants("stop a whole function", fns, 2*time.Minute)
		post(t, g, gofn.path()+"/start")
		clear(gofn.stopped)
		c.waitRunningEverywhere(gofn, 3*time.Minute)
		c.checkInvariants("start a whole function", fns, 2*time.Minute)

		post(t, g, pyfn.path()+"/1/stop")
		pyfn.stopped[1] = true
		c.checkInvariants("stop one instance", fns, 2*time.Minute)
		post(t, j, pyfn.path()+"/1/start")
		clear(pyfn.stopped)
		c.waitRunningEverywhere(pyfn, 4*time.Minute)
		c.checkInvariants("start one instance", fns, 2*time.Minute)

		before := pidsOf(fns, gofn)
		post(t, g, gofn.path()+"/restart")
		harness.Eventually(t, 3*time.Minute, "every instance of "+gofn.name+" restarted", func() error {
			now := pidsOf(fns, gofn)
			for k, pid := range before {
				if now[k] == pid {
					return fmt.Errorf("%s still pid %d", k, pid)
				}
			}
			return nil
		})
		c.waitRunningEverywhere(gofn, 3*time.Minute)
		before = pidsOf(fns, pyfn)
		post(t, j, pyfn.path()+"/0/restart")
		k0 := fmt.Sprintf("public/default/%s:0", pyfn.name)
		harness.Eventually(t, 3*time.Minute, "instance 0 of "+pyfn.name+" restarted", func() error {
			if now := pidsOf(fns, pyfn); now[k0] == before[k0] || now[k0] == 0 {
				return fmt.Errorf("pid %d, before %d", now[k0], before[k0])
			}
			return nil
		})
		c.waitRunningEverywhere(pyfn, 4*time.Minute)
		c.checkInvariants("restarts", fns, 2*time.Minute)
	})

	step(t, "rebalance and drain a worker of the other kind", func(t *testing.T) {
		if code, body := put(t, leader.URL()+"/admin/v2/worker/rebalance"); code != http.StatusNoContent {
			t.Fatalf("rebalance at the %s leader: %d %s", leaderKind, code, body)
		}
		c.checkInvariants("rebalance", fns, 3*time.Minute)
		victim := c.other(otherKind, "")
		if code, body := put(t, leader.URL()+"/admin/v2/worker/leader/drain?workerId="+victim.ID); code != http.StatusNoContent {
			t.Fatalf("drain %s at the %s leader: %d %s", victim.ID, leaderKind, code, body)
		}
		harness.Eventually(t, 2*time.Minute, "drain of "+victim.ID+" done", func() error {
			a, err := assignments(leader, fns)
			if err != nil {
				return err
			}
			for k, w := range a {
				if w == victim.ID {
					return fmt.Errorf("%s still on %s", k, w)
				}
			}
			return nil
		})
		for _, f := range fns {
			c.waitRunningEverywhere(f, 5*time.Minute)
		}
		c.checkInvariants("drain", fns, 3*time.Minute)
	})

	step(t, "kill -9 of the leader", func(t *testing.T) {
		var moved []string
		a, err := assignments(leader, fns)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range a {
			if w == leaderID {
				moved = append(moved, k)
			}
		}
		killed := time.Now()
		leader.Kill()
		c.forget(leaderID)
		newLeader := c.expectMembers(2 * time.Minute)
		t.Logf("new leader %s (%s) named %.1f s after kill -9 of the %s leader", newLeader, c.kinds[newLeader],
			time.Since(killed).Seconds(), leaderKind)
		if c.kinds[newLeader] == leaderKind {
			t.Errorf("new leader %s is a %s worker too; the ids were chosen for the other kind", newLeader, leaderKind)
		}
		if nl := c.workers[newLeader]; nl.Kind == harness.KindGo && len(moved) > 0 {
			// Ours acts at once on takeover: its first failure check
			// already sees the dead leader's instances.
			harness.Eventually(t, time.Minute, "the new leader's first failure check", func() error {
				for _, l := range strings.Split(nl.Log(), "\n") {
					if strings.Contains(l, "new leader: instances assigned to workers that are not members") && strings.Contains(l, leaderID) {
						t.Logf("new leader's first failure check: %s", l)
						return nil
					}
				}
				return fmt.Errorf("%s has not logged its first failure check naming %s", newLeader, leaderID)
			})
		}
		for _, f := range fns {
			c.waitRunningEverywhere(f, 5*time.Minute)
		}
		t.Logf("kill -9 of the %s leader: its %d instances (%v) running on the survivors after %.1f s (new %s leader; failureCheckFreqMs 2000, rescheduleTimeoutMs 8000)",
			leaderKind, len(moved), moved, time.Since(killed).Seconds(), c.kinds[newLeader])
		c.checkInvariants("kill -9 of the leader", fns, 3*time.Minute)
		leaderID, leader = newLeader, c.workers[newLeader]
	})

	step(t, "a replacement joins, then delete through every worker", func(t *testing.T) {
		id := fmt.Sprintf("%s-r%s", leaderKind, u)
		c.add(leaderKind, id)
		c.start(id).WaitReady(4 * time.Minute)
		leaderID = c.expectMembers(2 * time.Minute)
		c.checkInvariants("a replacement joins", fns, 3*time.Minute)
		j, g = c.other(harness.KindJava, ""), c.other(harness.KindGo, "")
		for _, del := range []struct {
			w *harness.Worker
			f *fn
		}{{j, gofn}, {g, jfn}, {j, src}, {g, sink}} {
			code, body := harness.Do(t, http.MethodDelete, del.w.URL()+del.f.path(), nil)
			if code != http.StatusNoContent && code != http.StatusOK {
				t.Fatalf("delete %s through %s: %d %s", del.f.name, del.w.ID, code, body)
			}
			delete(fns, del.f.name)
			c.checkInvariants("delete "+del.f.name+" through "+del.w.ID, fns, 2*time.Minute)
		}
		// The last one with the real pulsar-admin, through a worker of the
		// kind that does not lead.
		via := c.other(map[string]string{harness.KindGo: harness.KindJava, harness.KindJava: harness.KindGo}[c.kinds[leaderID]], "")
		if out, err := p.PulsarAdmin(t, via.URL(), "functions", "delete", "--tenant", "public", "--namespace", "default", "--name", pyfn.name); err != nil {
			t.Fatalf("functions delete through %s: %v\n%s", via.ID, err, out)
		}
		gone := map[string]*fn{pyfn.name: {kind: "functions", name: pyfn.name}}
		delete(fns, pyfn.name)
		c.checkInvariants("delete "+pyfn.name+" through "+via.ID, fns, 2*time.Minute)
		harness.Eventually(t, time.Minute, "no process of the deleted functions", func() error {
			if ps := instanceProcesses(gone); len(ps) > 0 {
				return fmt.Errorf("%v", ps)
			}
			return nil
		})
	})
}

// step runs one step of a scenario as a subtest and stops the scenario at
// the first step that fails: later steps build on it.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if t.Failed() {
		return
	}
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// submit creates (POST) or updates (PUT) f through w with the config fields
// (tenant, namespace and name added) and, when file is set, its package.
func submit(t *testing.T, w *harness.Worker, method string, f *fn, cfg map[string]any, file string) {
	t.Helper()
	cfg = maps.Clone(cfg)
	cfg["tenant"], cfg["namespace"], cfg["name"] = "public", "default", f.name
	b, _ := json.Marshal(cfg)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// As pulsar-admin sends it: the config as a JSON part (the Java worker
	// ignores a config part without this content type), the package as a file.
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, map[string]string{
		"functions": "functionConfig", "sources": "sourceConfig", "sinks": "sinkConfig"}[f.kind]))
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write(b)
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fw, _ := mw.CreateFormFile("data", filepath.Base(file))
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(method, w.URL()+f.path(), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s through %s: %v", method, f.path(), w.ID, err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code := resp.StatusCode
	if code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("%s %s through %s worker %s: %d %s", method, f.path(), w.Kind, w.ID, code, rb)
	}
	t.Logf("%s %s through %s worker %s: %d", method, f.name, w.Kind, w.ID, code)
}

// post sends an action (stop, start, restart) through w.
func post(t *testing.T, w *harness.Worker, path string) {
	t.Helper()
	code, body := harness.Do(t, http.MethodPost, w.URL()+path, nil)
	if code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("POST %s through %s worker %s: %d %s", path, w.Kind, w.ID, code, body)
	}
}

// pidsOf maps f's instance keys to their process ids.
func pidsOf(fns map[string]*fn, f *fn) map[string]int {
	out := map[string]int{}
	for _, pr := range instanceProcesses(map[string]*fn{f.name: fns[f.name]}) {
		out[pr.key] = pr.pid
	}
	return out
}
