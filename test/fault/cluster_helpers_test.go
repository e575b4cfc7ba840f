package fault

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
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// fastSettings keep the experiments short: health checks every second, the
// leader's failure check every second, instances of a departed worker moved
// after 4 s (its instances die with it: the kernel's parent-death signal).
var fastSettings = map[string]any{
	"instanceLivenessCheckFreqMs": 1000,
	"failureCheckFreqMs":          1000,
	"rescheduleTimeoutMs":         4000,
	"logLevel":                    "info",
	// Functions reference the test's Go function binary with a file: URL.
	"additionalEnabledFunctionsUrlPatterns": []any{"file:///.*"},
}

var (
	goFunctionOnce sync.Once
	goFunctionBin  string
	goFunctionErr  error
)

// goFunction builds test/gofunction (stripped: a smaller package to upload)
// once per test process.
func goFunction(t *testing.T) string {
	t.Helper()
	goFunctionOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pfw-fault-gofn-")
		if err != nil {
			goFunctionErr = err
			return
		}
		goFunctionBin = filepath.Join(dir, "exclamation-go")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", goFunctionBin, "./test/gofunction")
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goFunctionErr = fmt.Errorf("build test/gofunction: %v\n%s", err, out)
		}
	})
	if goFunctionErr != nil {
		t.Fatal(goFunctionErr)
	}
	return goFunctionBin
}

// cluster is a set of our workers sharing a functions namespace, with the
// namespace (public/<unique>) the test's functions live in, and a sampler
// that looks for instances running twice for as long as the test runs.
type cluster struct {
	t        *testing.T
	p        harness.Pulsar
	ns       string // the functions' namespace on the broker, "public/fault-..."
	in       string // the input topic every function consumes
	out      string // the output topic of every function ("": none)
	bin      string // the Go function
	mu       sync.Mutex
	workers  map[string]*harness.Worker // current process of each worker id
	order    []string                   // worker ids in start order
	stopped  map[*harness.Worker]bool   // processes the test stopped on purpose
	exited   map[*harness.Worker]bool   // processes that exited on their own (counted once)
	dupKeys  map[string]string          // instance key -> first sighting of it running twice
	samples  int
	stopSamp chan struct{}
	sampDone chan struct{}
	res      *result
}

// newCluster starts n workers (worker-1..n) with fastSettings and overrides
// on p, and waits until all are initialized and agree on the members.
func newCluster(t *testing.T, p harness.Pulsar, res *result, n int, overrides map[string]any) *cluster {
	t.Helper()
	c := &cluster{
		t: t, p: p, res: res, bin: goFunction(t),
		ns:       "public/" + harness.UniqueName("fault"),
		workers:  map[string]*harness.Worker{},
		stopped:  map[*harness.Worker]bool{},
		exited:   map[*harness.Worker]bool{},
		dupKeys:  map[string]string{},
		stopSamp: make(chan struct{}),
		sampDone: make(chan struct{}),
	}
	c.in = "persistent://" + c.ns + "/in"
	if code, body := p.Admin(t, http.MethodPut, "/admin/v2/namespaces/"+c.ns, nil); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("create namespace %s: %d %s", c.ns, code, body)
	}
	settings := maps.Clone(fastSettings)
	settings["pulsarFunctionsNamespace"] = "public/" + harness.UniqueName("fw")
	maps.Copy(settings, overrides)
	for i := range n {
		id := fmt.Sprintf("worker-%d", i+1)
		port := harness.FreePort(t)
		w := harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, settings))
		c.workers[id] = w
		c.order = append(c.order, id)
	}
	for _, w := range c.workers {
		w.WaitReady(90 * time.Second)
	}
	c.waitMembers(60 * time.Second)
	go c.sample()
	t.Cleanup(c.stopSampling)
	return c
}

func (c *cluster) stopSampling() {
	select {
	case <-c.stopSamp:
	default:
		close(c.stopSamp)
	}
	<-c.sampDone
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.duplicates = len(c.dupKeys)
	for k, seen := range c.dupKeys {
		c.t.Errorf("instance %s ran twice: %s", k, seen)
	}
	c.t.Logf("%d process samples taken", c.samples)
}

// sample lists the namespace's instance processes every 200 ms and records
// each instance seen as more than one process.
func (c *cluster) sample() {
	defer close(c.sampDone)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		procs := instanceProcesses(c.ns)
		byKey := map[string][]process{}
		for _, p := range procs {
			byKey[p.key] = append(byKey[p.key], p)
		}
		c.mu.Lock()
		c.samples++
		for k, ps := range byKey {
			if len(ps) > 1 {
				if _, seen := c.dupKeys[k]; !seen {
					c.dupKeys[k] = fmt.Sprintf("%s: processes %v", time.Now().Format("15:04:05.000"), ps)
				}
			}
		}
		c.mu.Unlock()
		select {
		case <-c.stopSamp:
			return
		case <-tick.C:
		}
	}
}

// process is one running instance process.
type process struct {
	pid, ppid int
	key       string // <tenant>/<namespace>/<name>:<instance id>
	stopped   bool   // state T (SIGSTOP)
}

func (p process) String() string { return fmt.Sprintf("%s pid %d ppid %d", p.key, p.pid, p.ppid) }

// instanceProcesses lists the Go instance processes of functions in ns, by
// their -instance-conf argument (tenant, nameSpace, name, instanceID).
// Zombies (killed, not yet reaped) have no command line and are not listed.
func instanceProcesses(ns string) []process {
	tenant, namespace, _ := strings.Cut(ns, "/")
	needle := []byte(`"nameSpace":"` + namespace + `"`)
	var out []process
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, needle) {
			continue
		}
		args := strings.Split(string(b), "\x00")
		i := slices.Index(args, "-instance-conf")
		if i < 0 || i+1 >= len(args) {
			continue
		}
		var conf struct {
			Tenant     string `json:"tenant"`
			NameSpace  string `json:"nameSpace"`
			Name       string `json:"name"`
			InstanceID int    `json:"instanceID"`
		}
		if json.Unmarshal([]byte(strings.Trim(args[i+1], "'")), &conf) != nil || conf.Tenant != tenant || conf.NameSpace != namespace {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ")".
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		ppid, _ := atoi(fields[1])
		out = append(out, process{pid: pid, ppid: ppid, stopped: fields[0] == "T",
			key: fmt.Sprintf("%s/%s:%d", ns, conf.Name, conf.InstanceID)})
	}
	return out
}

func atoi(s string) (int, error) {
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	return n, err
}

// live returns the workers that run, in start order.
func (c *cluster) live() []*harness.Worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*harness.Worker
	for _, id := range c.order {
		if w := c.workers[id]; w.Running() {
			out = append(out, w)
		}
	}
	return out
}

// countExits records every worker process that exited without the test
// stopping it.
func (c *cluster) countExits() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.workers {
		if !w.Running() && !c.stopped[w] && !c.exited[w] {
			c.exited[w] = true
			c.res.exits++
			c.t.Errorf("worker %s exited on its own", w.ID)
		}
	}
}

// leader asks a live worker who leads.
func (c *cluster) leader() (*harness.Worker, error) {
	for _, w := range c.live() {
		var l struct {
			WorkerID string `json:"workerId"`
		}
		if err := w.GetJSON("/admin/v2/worker/cluster/leader", &l); err != nil {
			continue
		}
		c.mu.Lock()
		lw := c.workers[l.WorkerID]
		c.mu.Unlock()
		if lw == nil || !lw.Running() {
			return nil, fmt.Errorf("leader %q is not a live worker", l.WorkerID)
		}
		return lw, nil
	}
	return nil, fmt.Errorf("no live worker names a leader")
}

// waitMembers waits until every live worker lists exactly the live workers
// as members and names the same live leader.
func (c *cluster) waitMembers(timeout time.Duration) {
	c.t.Helper()
	harness.Eventually(c.t, timeout, "members agree", func() error { return c.membersAgree() })
}

func (c *cluster) membersAgree() error {
	live := c.live()
	var want []string
	for _, w := range live {
		want = append(want, w.ID)
	}
	sort.Strings(want)
	var leaders []string
	for _, w := range live {
		var members []struct {
			WorkerID string `json:"workerId"`
		}
		if err := w.GetJSON("/admin/v2/worker/cluster", &members); err != nil {
			return err
		}
		var got []string
		for _, m := range members {
			got = append(got, m.WorkerID)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s lists members %v, want %v", w.ID, got, want)
		}
		var l struct {
			WorkerID string `json:"workerId"`
		}
		if err := w.GetJSON("/admin/v2/worker/cluster/leader", &l); err != nil {
			return err
		}
		leaders = append(leaders, l.WorkerID)
	}
	for _, l := range leaders {
		if l != leaders[0] || !slices.Contains(want, l) {
			return fmt.Errorf("workers name leaders %v, live workers %v", leaders, want)
		}
	}
	// The leader has taken over (before, writes answer 503 "Leader not yet ready").
	for _, w := range live {
		if w.ID == leaders[0] {
			code, body, err := do(mustRequest(http.MethodGet, w.URL()+"/admin/v2/worker/cluster/leader/ready"))
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("leader %s: leader/ready %d %s %v", w.ID, code, body, err)
			}
		}
	}
	return nil
}

// stop sends sig to the worker process only (not its process group: its
// instances must die with it by themselves) and waits for it to exit.
func (c *cluster) stop(w *harness.Worker, sig syscall.Signal) {
	c.t.Helper()
	c.mu.Lock()
	c.stopped[w] = true
	c.mu.Unlock()
	if err := syscall.Kill(w.Pid(), sig); err != nil {
		c.t.Fatalf("signal %v to worker %s: %v", sig, w.ID, err)
	}
	if _, err := w.Wait(90 * time.Second); err != nil {
		c.t.Fatalf("worker %s after %v: %v", w.ID, sig, err)
	}
}

// restart starts the worker id again, same port and config, and waits until
// it is initialized.
func (c *cluster) restart(id string) *harness.Worker {
	c.t.Helper()
	c.mu.Lock()
	old := c.workers[id]
	c.mu.Unlock()
	w := harness.StartWorker(c.t, id, old.Port, old.ConfigPath)
	c.mu.Lock()
	c.workers[id] = w
	c.mu.Unlock()
	w.WaitReady(90 * time.Second)
	return w
}

// fnPath is the REST path of function name.
func (c *cluster) fnPath(name string) string { return "/admin/v3/functions/" + c.ns + "/" + name }

var client = &http.Client{Timeout: 90 * time.Second}

// submit creates (POST) or updates (PUT) function name through w with the
// given parallelism; with upload, the Go function binary is uploaded as the
// package, otherwise referenced with a file: URL (create only; an update keeps
// the package). It returns the HTTP status, or the transport error.
func (c *cluster) submit(w *harness.Worker, method, name string, parallelism int, upload bool) (int, string, error) {
	tenant, namespace, _ := strings.Cut(c.ns, "/")
	cfg := map[string]any{"tenant": tenant, "namespace": namespace, "name": name, "runtime": "GO",
		"inputs": []string{c.in}, "parallelism": parallelism}
	if c.out != "" {
		cfg["output"] = c.out
	}
	b, _ := json.Marshal(cfg)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="functionConfig"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write(b)
	switch {
	case upload:
		data, err := os.ReadFile(c.bin)
		if err != nil {
			c.t.Fatal(err)
		}
		fw, _ := mw.CreateFormFile("data", filepath.Base(c.bin))
		_, _ = fw.Write(data)
	case method == http.MethodPost:
		_ = mw.WriteField("url", "file://"+c.bin)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(method, w.URL()+c.fnPath(name), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(req)
}

// remove deletes function name through w.
func (c *cluster) remove(w *harness.Worker, name string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodDelete, w.URL()+c.fnPath(name), nil)
	return do(req)
}

func do(req *http.Request) (int, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func ok(code int) bool { return code == http.StatusOK || code == http.StatusNoContent }
