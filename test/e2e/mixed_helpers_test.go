package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// A mixed cluster: Java functions workers of the pinned distribution and ours
// in one functions namespace, with the settings both kinds need to share it.
type mixedCluster struct {
	t       *testing.T
	p       harness.Pulsar
	ns      string // the functions namespace, tenant/namespace
	ports   map[string]int
	kinds   map[string]string // worker id -> harness.KindGo / KindJava
	workers map[string]*harness.Worker
	goOv    map[string]any // settings of our workers
	javaOv  map[string]any // settings of the Java workers
}

// mixedSettings are the settings every worker of a mixed cluster gets, Java
// or Go: package management (packages in the broker's package service, where
// both kinds find them), the same failure-detection timers, a liveness check
// slow enough for cold JVMs on a loaded 2-core machine, and the connectors.
func mixedSettings(connectors string) map[string]any {
	return map[string]any{
		"functionsWorkerEnablePackageManagement": true,
		"failureCheckFreqMs":                     2000,
		"rescheduleTimeoutMs":                    8000,
		"instanceLivenessCheckFreqMs":            10000,
		"connectorsDirectory":                    connectors,
	}
}

// newMixedCluster prepares a functions namespace and ports for workers of the
// given kinds; start starts them.
func newMixedCluster(t *testing.T, p harness.Pulsar, extra map[string]any) *mixedCluster {
	t.Helper()
	p.RequireJavaWorkers(t)
	ns := "public/" + harness.UniqueName("mix")
	if code, body := p.Admin(t, http.MethodPut, "/admin/v2/namespaces/"+ns, nil); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("create namespace %s: %d %s", ns, code, body)
	}
	common := mixedSettings(harness.ConnectorsDir(t))
	common["pulsarFunctionsNamespace"] = ns
	maps.Copy(common, extra)
	goOv, javaOv := maps.Clone(common), maps.Clone(common)
	return &mixedCluster{t: t, p: p, ns: ns, ports: map[string]int{}, kinds: map[string]string{},
		workers: map[string]*harness.Worker{}, goOv: goOv, javaOv: javaOv}
}

// consumerName is the name a worker subscribes to the coordination topic
// with (WorkerInfo's string form), which decides leadership.
func (c *mixedCluster) consumerName(id string) string {
	return fmt.Sprintf("%s:127.0.0.1:%d", id, c.ports[id])
}

func (c *mixedCluster) coordinationTopic() string { return "persistent://" + c.ns + "/coordinate" }

// activeAmong asks the broker which of the named consumers it makes active on
// the coordination topic: it subscribes probe consumers with exactly those
// names on a probe subscription of the same topic (the broker's choice
// depends only on the topic and the names: a consistent-hash ring for a
// non-partitioned topic) and reads the subscription's active consumer. It
// also reports who becomes active when that one leaves.
func (c *mixedCluster) activeAmong(client pulsar.Client, names []string) (first, second string) {
	c.t.Helper()
	sub := "probe-" + strconv.Itoa(rand.IntN(1<<30))
	consumers := map[string]pulsar.Consumer{}
	defer func() {
		for _, cons := range consumers {
			cons.Close()
		}
		path := "/admin/v2/persistent/" + c.ns + "/coordinate/subscription/" + sub + "?force=true"
		c.p.Admin(c.t, http.MethodDelete, path, nil)
	}()
	for _, n := range names {
		cons, err := client.Subscribe(pulsar.ConsumerOptions{Topic: c.coordinationTopic(), SubscriptionName: sub,
			Type: pulsar.Failover, Name: n, ReceiverQueueSize: 1})
		if err != nil {
			c.t.Fatalf("probe consumer %s: %v", n, err)
		}
		consumers[n] = cons
	}
	active := func(want int) string {
		var name string
		harness.Eventually(c.t, 30*time.Second, "probe subscription's active consumer", func() error {
			var st struct {
				Subscriptions map[string]struct {
					ActiveConsumerName string            `json:"activeConsumerName"`
					Consumers          []json.RawMessage `json:"consumers"`
				} `json:"subscriptions"`
			}
			code, body := c.p.Admin(c.t, http.MethodGet, "/admin/v2/persistent/"+c.ns+"/coordinate/stats", nil)
			if code != http.StatusOK {
				return fmt.Errorf("topic stats: %d %s", code, body)
			}
			if err := json.Unmarshal(body, &st); err != nil {
				return err
			}
			s := st.Subscriptions[sub]
			if len(s.Consumers) != want || s.ActiveConsumerName == "" {
				return fmt.Errorf("%d consumers, active %q", len(s.Consumers), s.ActiveConsumerName)
			}
			name = s.ActiveConsumerName
			return nil
		})
		return name
	}
	first = active(len(names))
	consumers[first].Close()
	delete(consumers, first)
	second = active(len(names) - 1)
	return first, second
}

// chooseIDs picks worker ids (and ports) for javaN Java and goN Go workers so
// that a worker of kind leader leads the full cluster and one of the other
// kind leads once the leader is gone: the broker picks the leader by a hash of
// the consumer names, so the test tries names until they give the roles it
// needs. It returns the ids in start order, Java workers first.
func (c *mixedCluster) chooseIDs(javaN, goN int, leader string) []string {
	c.t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: c.p.ServiceURL})
	if err != nil {
		c.t.Fatal(err)
	}
	defer client.Close()
	for attempt := 1; attempt <= 40; attempt++ {
		var ids []string
		clear(c.kinds)
		for i := range javaN {
			id := fmt.Sprintf("java-%d-%04x", i+1, rand.IntN(0x10000))
			ids = append(ids, id)
			c.kinds[id] = harness.KindJava
		}
		for i := range goN {
			id := fmt.Sprintf("go-%d-%04x", i+1, rand.IntN(0x10000))
			ids = append(ids, id)
			c.kinds[id] = harness.KindGo
		}
		names := map[string]string{}
		for _, id := range ids {
			c.ports[id] = harness.FreePort(c.t)
			names[c.consumerName(id)] = id
		}
		first, second := c.activeAmong(client, slices.Collect(maps.Keys(names)))
		if c.kinds[names[first]] == leader && c.kinds[names[second]] != leader {
			c.t.Logf("worker ids %v: %s leads, then %s (attempt %d)", ids, names[first], names[second], attempt)
			return ids
		}
	}
	c.t.Fatalf("no worker ids found that make a %s worker lead", leader)
	return nil
}

// start starts the worker with id (of the kind chooseIDs gave it).
func (c *mixedCluster) start(id string) *harness.Worker {
	c.t.Helper()
	port := c.ports[id]
	var w *harness.Worker
	switch c.kinds[id] {
	case harness.KindJava:
		w = harness.StartJavaWorker(c.t, c.p, id, port, harness.JavaWorkerConfig(c.t, c.p, id, port, c.javaOv))
	default:
		w = harness.StartWorker(c.t, id, port, harness.WorkerConfig(c.t, c.p, id, port, c.goOv))
	}
	c.workers[id] = w
	return w
}

// startAll starts the workers with ids and waits until each is initialized.
// Java workers start one after the other: Java workers that start at the
// same moment on a fresh namespace race to initialize its metadata and the
// losers exit ("Stacktrace for immediate shutdown"), which is the Java
// worker's own start-up, not what these tests are about.
func (c *mixedCluster) startAll(ids []string) {
	c.t.Helper()
	var started []*harness.Worker
	for _, id := range ids {
		w := c.start(id)
		if w.Kind == harness.KindJava {
			w.WaitReady(4 * time.Minute)
		}
		started = append(started, w)
	}
	for _, w := range started {
		w.WaitReady(4 * time.Minute)
	}
}

// add prepares one more worker of kind with a fresh id and port.
func (c *mixedCluster) add(kind, id string) {
	c.kinds[id] = kind
	c.ports[id] = harness.FreePort(c.t)
}

// live lists the running workers, sorted by id.
func (c *mixedCluster) live() []*harness.Worker {
	var out []*harness.Worker
	for _, id := range slices.Sorted(maps.Keys(c.workers)) {
		if w := c.workers[id]; w.Running() {
			out = append(out, w)
		}
	}
	return out
}

// forget drops a worker that the test stopped or killed.
func (c *mixedCluster) forget(id string) { delete(c.workers, id) }

// expectMembers waits until every live worker lists exactly the live workers
// and all name the same leader, which has taken over; it returns the
// leader's id.
func (c *mixedCluster) expectMembers(timeout time.Duration) string {
	c.t.Helper()
	return expectMembers(c.t, c.live(), timeout).WorkerID
}

// fn is one function (or source or sink) the mixed tests deploy.
type fn struct {
	kind        string // functions, sources, sinks
	name        string
	parallelism int
	stopped     map[int]bool // instances stopped on purpose
}

func (f *fn) path() string { return "/admin/v3/" + f.kind + "/public/default/" + f.name }

// instanceKeys are the assignment keys the function's instances have.
func (f *fn) instanceKeys() []string {
	var out []string
	for i := range f.parallelism {
		out = append(out, fmt.Sprintf("public/default/%s:%d", f.name, i))
	}
	return out
}

// assignments is GET /admin/v2/worker/assignments of w, restricted to names.
func assignments(w *harness.Worker, fns map[string]*fn) (map[string]string, error) {
	var byWorker map[string][]string
	if err := w.GetJSON("/admin/v2/worker/assignments", &byWorker); err != nil {
		return nil, fmt.Errorf("%s: %w", w.ID, err)
	}
	out := map[string]string{}
	for worker, keys := range byWorker {
		for _, k := range keys {
			name, _, _ := strings.Cut(strings.TrimPrefix(k, "public/default/"), ":")
			if _, ok := fns[name]; ok && strings.HasPrefix(k, "public/default/") {
				out[k] = worker
			}
		}
	}
	return out, nil
}

var goInstanceID = regexp.MustCompile(`"instanceID":(\d+)`)

// instanceProcess is one running instance process of a test function.
type instanceProcess struct {
	pid, ppid int
	key       string // public/default/<name>:<instance id>
}

// instanceProcesses lists the instance processes of the given functions
// (Java and Python instances carry --function_details and --instance_id, Go
// instances -instance-conf with "name" and "instanceID"), with their parents.
func instanceProcesses(fns map[string]*fn) []instanceProcess {
	var out []instanceProcess
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		var name string
		for n := range fns {
			if bytes.Contains(b, []byte(`"name":"`+n+`"`)) && bytes.Contains(b, []byte(`"tenant":"public"`)) {
				name = n
			}
		}
		if name == "" {
			continue
		}
		id := -1
		if i := slices.Index(args, "--instance_id"); i >= 0 && i+1 < len(args) {
			id, _ = strconv.Atoi(args[i+1])
		} else if m := goInstanceID.FindSubmatch(b); m != nil {
			id, _ = strconv.Atoi(string(m[1]))
		}
		if id < 0 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ")".
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		ppid, _ := strconv.Atoi(fields[1])
		out = append(out, instanceProcess{pid: pid, ppid: ppid, key: fmt.Sprintf("public/default/%s:%d", name, id)})
	}
	return out
}

// checkInvariants is what must hold after every step of a mixed-cluster test:
// every worker is alive; every worker reports the same assignments, exactly
// the instances the functions have (no stale one), each on a live worker;
// and each instance that should run runs as exactly one process, a child of
// the worker its assignment names (never twice, never elsewhere).
func (c *mixedCluster) checkInvariants(step string, fns map[string]*fn, timeout time.Duration) {
	c.t.Helper()
	for _, w := range c.workers {
		if !w.Running() {
			c.t.Fatalf("after %s: %s worker %s exited", step, w.Kind, w.ID)
		}
	}
	want := map[string]bool{}
	for _, f := range fns {
		for _, k := range f.instanceKeys() {
			want[k] = true
		}
	}
	byPid := map[int]string{}
	for _, w := range c.workers {
		byPid[w.Pid()] = w.ID
	}
	harness.Eventually(c.t, timeout, "invariants after "+step, func() error {
		var first map[string]string
		for _, w := range c.live() {
			a, err := assignments(w, fns)
			if err != nil {
				return err
			}
			if first == nil {
				first = a
			} else if !maps.Equal(a, first) {
				return fmt.Errorf("%s reports assignments %v, another worker %v", w.ID, a, first)
			}
		}
		for k := range want {
			if _, ok := first[k]; !ok {
				return fmt.Errorf("%s is not assigned", k)
			}
		}
		for k, worker := range first {
			if !want[k] {
				return fmt.Errorf("stale assignment %s on %s", k, worker)
			}
			if _, ok := c.workers[worker]; !ok || !c.workers[worker].Running() {
				return fmt.Errorf("%s assigned to %s, which is gone", k, worker)
			}
		}
		procs := map[string][]instanceProcess{}
		for _, pr := range instanceProcesses(fns) {
			procs[pr.key] = append(procs[pr.key], pr)
		}
		for k, ps := range procs {
			if len(ps) > 1 {
				return fmt.Errorf("instance %s runs %d times: %v", k, len(ps), ps)
			}
			if !want[k] {
				return fmt.Errorf("instance %s runs (pid %d) but the function no longer has it", k, ps[0].pid)
			}
			if owner := byPid[ps[0].ppid]; owner != first[k] {
				return fmt.Errorf("instance %s runs under %q (ppid %d), assigned to %s", k, owner, ps[0].ppid, first[k])
			}
		}
		for _, f := range fns {
			for i, k := range f.instanceKeys() {
				if !f.stopped[i] && len(procs[k]) == 0 {
					return fmt.Errorf("instance %s has no process", k)
				}
				if f.stopped[i] && len(procs[k]) != 0 {
					return fmt.Errorf("stopped instance %s still runs", k)
				}
			}
		}
		return nil
	})
}

// waitSubscribed waits until every running instance of function f consumes
// its input topic (see waitConsuming).
func (c *mixedCluster) waitSubscribed(f *fn, topic string) {
	c.t.Helper()
	waitConsumers(c.t, c.p, topic, "public/default/"+f.name, f.parallelism-len(f.stopped))
}

// statusOf is the part of a status answer that must be the same through every
// worker: instance ids, where they run and whether they run.
func statusOf(w *harness.Worker, f *fn) (string, error) {
	type instance struct {
		InstanceID int `json:"instanceId"`
		Status     struct {
			Running  bool   `json:"running"`
			WorkerID string `json:"workerId"`
		} `json:"status"`
	}
	var st struct {
		NumInstances int        `json:"numInstances"`
		NumRunning   int        `json:"numRunning"`
		Instances    []instance `json:"instances"`
	}
	if err := w.GetJSON(f.path()+"/status", &st); err != nil {
		return "", fmt.Errorf("%s: %w", w.ID, err)
	}
	slices.SortFunc(st.Instances, func(a, b instance) int { return a.InstanceID - b.InstanceID })
	b, _ := json.Marshal(st)
	return string(b), nil
}

// waitRunningEverywhere waits until every instance of f that is not stopped
// runs, as every live worker reports it, identically.
func (c *mixedCluster) waitRunningEverywhere(f *fn, timeout time.Duration) {
	c.t.Helper()
	want := f.parallelism - len(f.stopped)
	harness.Eventually(c.t, timeout, fmt.Sprintf("%d instances of %s running, seen alike by every worker", want, f.name), func() error {
		var first string
		for _, w := range c.live() {
			s, err := statusOf(w, f)
			if err != nil {
				return err
			}
			if first == "" {
				first = s
				var st struct{ NumInstances, NumRunning int }
				_ = json.Unmarshal([]byte(s), &st)
				if st.NumInstances != f.parallelism || st.NumRunning != want {
					return fmt.Errorf("%s: %s", w.ID, s)
				}
			} else if s != first {
				return fmt.Errorf("status differs: %s says %s, another %s", w.ID, s, first)
			}
		}
		return nil
	})
}

// sameEverywhere GETs path from every live worker and compares the JSON
// answers, without null members, after norm (nil: as they are).
func (c *mixedCluster) sameEverywhere(path string, norm func(any) any) {
	c.t.Helper()
	harness.Eventually(c.t, time.Minute, "GET "+path+" alike through every worker", func() error {
		var first []byte
		var firstID string
		for _, w := range c.live() {
			var v any
			if err := w.GetJSON(path, &v); err != nil {
				return fmt.Errorf("%s: %w", w.ID, err)
			}
			v = dropNulls(v)
			if norm != nil {
				v = norm(v)
			}
			b, _ := json.Marshal(v)
			if first == nil {
				first, firstID = b, w.ID
			} else if !bytes.Equal(b, first) {
				return fmt.Errorf("%s answers %s\n%s answers %s", w.ID, b, firstID, first)
			}
		}
		return nil
	})
}

// dropNulls removes null members: the Java worker writes them (Jackson), ours
// leaves them out, pulsar-admin prints neither.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

// statsShape keeps what a stats answer must agree on through every worker:
// the instance ids (the counters move between calls).
func statsShape(v any) any {
	m, _ := v.(map[string]any)
	var ids []any
	insts, _ := m["instances"].([]any)
	for _, in := range insts {
		if im, ok := in.(map[string]any); ok {
			ids = append(ids, im["instanceId"])
		}
	}
	slices.SortFunc(ids, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return ids
}

// sortedList sorts a list answer (the order of names is not specified).
func sortedList(v any) any {
	l, _ := v.([]any)
	slices.SortFunc(l, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return l
}
