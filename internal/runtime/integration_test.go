package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

// requireEnv returns the named variables, or skips the test saying which are
// missing; under CI=true it fails instead, so CI never skips silently.
// Under -short (make unit) it always skips: these tests need a standalone.
func requireEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs a Pulsar standalone")
	}
	vals := map[string]string{}
	var missing []string
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			vals[n] = v
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("needs %s: start a standalone with eval \"$(scripts/pulsar.sh up)\" (or PFW_PULSAR_STATE_DIR=... scripts/pulsar.sh up)", strings.Join(missing, ", "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return vals
}

// copyFetcher puts the example package where the worker's downloader would:
// <downloadDir>/<tenant>/<namespace>/<name>/<instanceId>/<file>.
type copyFetcher struct {
	downloadDir string
	sources     map[string]string // function name -> example file
}

func (f copyFetcher) Fetch(ctx context.Context, inst *pb.Instance) (string, error) {
	d := inst.GetFunctionMetaData().GetFunctionDetails()
	src, ok := f.sources[d.GetName()]
	if !ok {
		return "", fmt.Errorf("no package for %s", d.GetName())
	}
	dir := filepath.Join(f.downloadDir, d.GetTenant(), d.GetNamespace(), d.GetName(), fmt.Sprint(inst.GetInstanceId()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	return dst, os.WriteFile(dst, b, 0o644)
}

// exclamation returns FunctionDetails as Pulsar 4.0.8's FunctionConfigUtils
// makes them for `pulsar-admin functions create --inputs IN --output OUT
// --classname CLASS --jar|--py FILE` (printed by the 4.0.8 classes).
func exclamation(name, in, out string, rt pb.FunctionDetails_Runtime) *pb.FunctionDetails {
	d := &pb.FunctionDetails{
		Tenant: "public", Namespace: "default", Name: name,
		ClassName: "org.apache.pulsar.functions.api.examples.ExclamationFunction",
		Runtime:   rt,
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		AutoAck:     true,
		Parallelism: 1,
		Source: &pb.SourceSpec{
			TypeClassName:       "java.lang.String",
			InputSpecs:          map[string]*pb.ConsumerSpec{in: {}},
			CleanupSubscription: true,
		},
		Sink: &pb.SinkSpec{
			Topic:                        out,
			TypeClassName:                "java.lang.String",
			ForwardSourceMessageProperty: true,
		},
		Resources:     &pb.Resources{Cpu: 1, Ram: 1073741824, Disk: 10737418240},
		ComponentType: pb.FunctionDetails_FUNCTION,
	}
	if rt == pb.FunctionDetails_PYTHON {
		d.ClassName = "exclamation_function.ExclamationFunction"
		d.Source.TypeClassName, d.Sink.TypeClassName = "", ""
	}
	return d
}

func assign(d *pb.FunctionDetails) *pb.Assignment {
	return &pb.Assignment{WorkerId: "runtime-test", Instance: &pb.Instance{
		InstanceId: 0,
		FunctionMetaData: &pb.FunctionMetaData{
			FunctionDetails: d,
			PackageLocation: &pb.PackageLocationMetaData{PackagePath: d.GetTenant() + "/" + d.GetNamespace() + "/" + d.GetName()},
			Version:         1,
			CreateTime:      uint64(time.Now().UnixMilli()),
		},
	}}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func infoOf(m *runtime.Manager, fqfn string) (runtime.InstanceInfo, bool) {
	for _, i := range m.Instances() {
		if i.FQFN == fqfn && i.InstanceID == 0 {
			return i, true
		}
	}
	return runtime.InstanceInfo{}, false
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// subscribed reports whether the function's subscription exists on topic.
func subscribed(webURL, topic, sub string) bool {
	u := webURL + "/admin/v2/persistent/" + strings.TrimPrefix(topic, "persistent://") + "/stats"
	resp, err := http.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var stats struct {
		Subscriptions map[string]json.RawMessage `json:"subscriptions"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&stats) != nil {
		return false
	}
	_, ok := stats.Subscriptions[sub]
	return ok
}

type exclaimCase struct {
	rt       pb.FunctionDetails_Runtime
	name     string
	in, out  string
	consumer pulsar.Consumer
	producer pulsar.Producer
}

func (c *exclaimCase) fqfn() string { return "public/default/" + c.name }

// roundTrip sends n messages and expects each back with "!" appended.
func (c *exclaimCase) roundTrip(t *testing.T, tag string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	want := map[string]bool{}
	for i := range n {
		// Not a number: the Python instance's default serde turns "1" into int 1.
		msg := fmt.Sprintf("%s-%s-%d", c.name, tag, i)
		want[msg+"!"] = true
		if _, err := c.producer.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(msg)}); err != nil {
			t.Fatalf("send to %s: %v", c.in, err)
		}
	}
	for len(want) > 0 {
		m, err := c.consumer.Receive(ctx)
		if err != nil {
			t.Fatalf("%s: receive from %s (still expecting %v): %v", c.rt, c.out, want, err)
		}
		c.consumer.Ack(m)
		got := string(m.Payload())
		if !want[got] {
			t.Fatalf("%s: unexpected output %q (want one of %v)", c.rt, got, want)
		}
		delete(want, got)
	}
}

func TestIntegrationExclamation(t *testing.T) {
	env := requireEnv(t, "PULSAR_HOME", "PULSAR_SERVICE_URL", "PULSAR_WEB_SERVICE_URL")
	python := os.Getenv("PFW_PYTHON")
	if python == "" {
		msg := "PFW_PYTHON (the venv interpreter scripts/pulsar.sh up prints) is not set"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Log(msg + ": running the Java instance only")
	}
	home := env["PULSAR_HOME"]
	suffix := fmt.Sprintf("%d-%04x", time.Now().Unix(), rand.IntN(1<<16))

	client, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:    env["PULSAR_SERVICE_URL"],
		Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)

	cases := []*exclaimCase{{rt: pb.FunctionDetails_JAVA}}
	if python != "" {
		cases = append(cases, &exclaimCase{rt: pb.FunctionDetails_PYTHON})
	}
	sources := map[string]string{}
	var assignments []*pb.Assignment
	for _, c := range cases {
		lang := strings.ToLower(c.rt.String())
		c.name = "exclaim-" + lang + "-" + suffix
		c.in = "persistent://public/default/rt-in-" + lang + "-" + suffix
		c.out = "persistent://public/default/rt-out-" + lang + "-" + suffix
		// The Java function's String type makes its consumer and producer use the
		// STRING schema; a schemaless (BYTES) client that came first would make the
		// broker refuse it. The Python instance uses BYTES.
		var schema pulsar.Schema
		if c.rt == pb.FunctionDetails_JAVA {
			schema = pulsar.NewStringSchema(nil)
		}
		if c.consumer, err = client.Subscribe(pulsar.ConsumerOptions{
			Topic: c.out, SubscriptionName: "test", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, Schema: schema,
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.consumer.Close)
		if c.producer, err = client.CreateProducer(pulsar.ProducerOptions{Topic: c.in, Schema: schema}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.producer.Close)
		if c.rt == pb.FunctionDetails_JAVA {
			sources[c.name] = filepath.Join(home, "examples", "api-examples.jar")
		} else {
			sources[c.name] = filepath.Join(home, "examples", "python-examples", "exclamation_function.py")
		}
		assignments = append(assignments, assign(exclamation(c.name, c.in, c.out, c.rt)))
	}

	logDir, downloadDir := t.TempDir(), t.TempDir()
	t.Cleanup(func() { // runs after the instances are stopped (cleanups run in reverse)
		if t.Failed() {
			dumpLogs(t, filepath.Join(logDir, "functions"))
		}
	})
	opts := runtime.Options{
		PulsarHome:          home,
		Python:              python,
		LogDir:              logDir,
		DownloadDir:         downloadDir,
		PulsarServiceURL:    env["PULSAR_SERVICE_URL"],
		PulsarWebServiceURL: env["PULSAR_WEB_SERVICE_URL"],
		ClusterName:         "standalone",
		HealthCheckInterval: 10 * time.Second,
		Logger:              slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	m := runtime.NewManager(opts, copyFetcher{downloadDir: downloadDir, sources: sources}, runtime.ProcessLauncher{})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	var pids []int
	t.Cleanup(func() {
		cancel()
		select {
		case <-runDone:
		case <-time.After(60 * time.Second):
			t.Error("Run did not return")
		}
		for _, pid := range pids { // last resort; Run has stopped them already
			if alive(pid) {
				t.Errorf("pid %d left behind; killing it", pid)
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})

	begin := time.Now()
	m.Apply(assignments)
	for _, c := range cases {
		waitFor(t, 120*time.Second, c.name+" running", func() bool {
			i, ok := infoOf(m, c.fqfn())
			if ok && i.State == runtime.StateFailed {
				t.Fatalf("%s failed: %s", c.name, i.LastError)
			}
			return ok && i.State == runtime.StateRunning
		})
		i, _ := infoOf(m, c.fqfn())
		pids = append(pids, i.PID)
		t.Logf("%s: healthy %v after Apply (pid %d)", c.rt, time.Since(begin).Round(time.Millisecond), i.PID)
	}
	for _, c := range cases {
		took := waitFor(t, 120*time.Second, c.name+" subscribed", func() bool {
			return subscribed(env["PULSAR_WEB_SERVICE_URL"], c.in, "public/default/"+c.name)
		})
		start := time.Now()
		c.roundTrip(t, "a", 3)
		t.Logf("%s: subscribed %v later; 3 messages round-tripped in %v", c.rt, took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

		st, err := m.Status(context.Background(), c.fqfn(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !st.GetRunning() || st.GetInstanceId() != "0" || st.GetNumRestarts() != 0 || st.GetNumSuccessfullyProcessed() < 3 {
			t.Errorf("%s status = %v", c.rt, st)
		}
		md, err := m.Metrics(context.Background(), c.fqfn(), 0)
		if err != nil || md.GetProcessedSuccessfullyTotal() < 3 {
			t.Errorf("%s metrics = %v, %v", c.rt, md, err)
		}
		fnLogDir := filepath.Join(logDir, "functions", "public", "default", c.name)
		for _, f := range []string{c.name + "-0.log", c.name + "-0.out"} {
			if _, err := os.Stat(filepath.Join(fnLogDir, f)); err != nil {
				t.Errorf("%s: %v", c.rt, err)
			}
		}
	}
	t.Logf("both instances processed messages %v after Apply", time.Since(begin).Round(time.Millisecond))

	// kill -9 the Java instance: it comes back after the backoff, with the exit reason recorded.
	java := cases[0]
	before, _ := infoOf(m, java.fqfn())
	killed := time.Now()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "backoff", func() bool {
		i, _ := infoOf(m, java.fqfn())
		return i.State == runtime.StateBackoff
	})
	st, err := m.Status(context.Background(), java.fqfn(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetRunning() || st.GetNumRestarts() != 1 || !strings.Contains(st.GetFailureException(), "killed by signal SIGKILL") {
		t.Errorf("status in backoff = %v", st)
	}
	waitFor(t, 120*time.Second, "java restarted", func() bool {
		i, _ := infoOf(m, java.fqfn())
		return i.State == runtime.StateRunning && i.PID != before.PID
	})
	after, _ := infoOf(m, java.fqfn())
	pids = append(pids, after.PID)
	t.Logf("JAVA: healthy again %v after kill -9 (pid %d -> %d)", time.Since(killed).Round(time.Millisecond), before.PID, after.PID)
	if alive(before.PID) {
		t.Errorf("killed pid %d still alive", before.PID)
	}
	if after.Restarts != 1 || after.GRPCPort != before.GRPCPort || after.MetricsPort != before.MetricsPort {
		t.Errorf("after restart %+v, before %+v", after, before)
	}
	java.roundTrip(t, "b", 2)
	st, err = m.Status(context.Background(), java.fqfn(), 0)
	if err != nil || !st.GetRunning() || st.GetNumRestarts() != 1 {
		t.Errorf("status after restart = %v, %v", st, err)
	}

	// Nothing assigned: every process goes, and the download directories with them.
	stopping := time.Now()
	m.Apply(nil)
	waitFor(t, 60*time.Second, "all instances stopped", func() bool {
		if len(m.Instances()) != 0 {
			return false
		}
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	})
	t.Logf("all instances stopped %v after Apply(nil)", time.Since(stopping).Round(time.Millisecond))
	waitFor(t, 10*time.Second, "download dirs removed", func() bool {
		for _, c := range cases {
			if _, err := os.Stat(filepath.Join(downloadDir, "public", "default", c.name, "0")); !os.IsNotExist(err) {
				return false
			}
		}
		return true
	})
	for _, c := range cases {
		if b, err := os.ReadFile(filepath.Join(logDir, "functions", "public", "default", c.name, c.name+"-0.out")); err == nil && testing.Verbose() {
			t.Logf("%s stdout/stderr (%d bytes), last part:\n%s", c.rt, len(b), tailString(string(b), 600))
		}
	}
}

// dumpLogs logs the end of every instance log file under dir.
func dumpLogs(t *testing.T, dir string) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			t.Logf("=== %s (%d bytes):\n%s", path, len(b), tailString(string(b), 4000))
		}
		return nil
	})
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
