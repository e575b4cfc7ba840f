package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// These tests run the built fixture without a broker: with no inputs and no
// output it never talks to Pulsar (the client connects lazily), so the
// control plane, metrics, knobs and exit codes can be checked anywhere.

// idleConf is a worker-like conf for a function with no topics, pointing at
// a port where no broker listens.
func idleConf(t *testing.T, name, userConfig string) (string, javaLaunch) {
	t.Helper()
	l := testLaunch(t, fmt.Sprintf("pulsar://127.0.0.1:%d", harness.FreePort(t)), 3)
	return javaGoInstanceConf(t, testDetails("public", "default", name, nil, "", userConfig), l), l
}

func TestBinaryExitCodesForBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"help", []string{"-help"}, exitOK, "-instance-conf-path"},
		{"no config", nil, exitConfig, "neither -instance-conf nor -instance-conf-path"},
		{"not JSON", []string{"-instance-conf", "nope"}, exitConfig, "not a JSON object"},
		{"EFFECTIVELY_ONCE", []string{"-instance-conf", readGolden(t, "java-worker-effectively-once.json")}, exitConfig, "EFFECTIVELY_ONCE"},
		{"unknown flag", []string{"--function_details", "{}"}, exitConfig, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFixture(t, tc.args...)
			if code := p.exitCode(t, 10*time.Second); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if !strings.Contains(p.out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, p.out.String())
			}
		})
	}
}

func TestControlPlaneWithoutBroker(t *testing.T) {
	conf, l := idleConf(t, "idle", "")
	p := startFixture(t, "-instance-conf", conf)
	cl := controlClient(t, l.Port)
	st := waitServing(t, p, cl, 20*time.Second)
	if !st.GetRunning() || st.GetInstanceId() != "3" || st.GetNumSuccessfullyProcessed() != 0 || st.GetWorkerId() != "" {
		t.Errorf("status = %v", st)
	}
	if m := call(t, cl.GetMetrics); m.GetReceivedTotal() != 0 || m.GetProcessedSuccessfullyTotal() != 0 {
		t.Errorf("metrics = %v", m)
	}
	if h := call(t, cl.HealthCheck); !h.GetSuccess() {
		t.Errorf("health check = %v", h)
	}
	call(t, cl.ResetMetrics)
	call(t, cl.GetAndResetMetrics)

	labels := `{tenant="public",namespace="public/default",name="idle",instance_id="` + l.FuncID +
		`",cluster="standalone",fqfn="public/default/idle"}`
	for _, path := range []string{"/", "/metrics"} {
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d%s", l.MetricsPort, path))
		for _, want := range []string{
			"# TYPE pulsar_function_received_total gauge\n",
			"pulsar_function_received_total" + labels + " 0\n",
			"pulsar_function_processed_successfully_total" + labels + " 0\n",
			"pulsar_function_received_total_1min" + labels + " 0\n",
			"# TYPE pulsar_function_process_latency_ms summary\n",
			"pulsar_function_process_latency_ms_count" + labels + " 0\n",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %q:\n%s", path, want, body)
			}
		}
	}

	out := p.out.String()
	for _, want := range []string{`msg="gofunction: starting"`, "fqfn=public/default/idle", "instanceID=3", "funcID=" + l.FuncID, "detailsFrom=functionDetails"} {
		if !strings.Contains(out, want) {
			t.Errorf("start log lacks %q:\n%s", want, out)
		}
	}

	p.signal(t, syscall.SIGINT)
	if code := p.exitCode(t, 15*time.Second); code != exitOK {
		t.Errorf("exit code after SIGINT = %d, want 0", code)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	return string(b)
}

func TestCrashAfterSeconds(t *testing.T) {
	conf, _ := idleConf(t, "crashy", `{"crashAfterSeconds":"1.5"}`)
	start := time.Now()
	p := startFixture(t, "-instance-conf", conf)
	if code := p.exitCode(t, 20*time.Second); code != exitCrash {
		t.Fatalf("exit code %d, want %d", code, exitCrash)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("exited after %v, before crashAfterSeconds", d)
	}
}

func TestAllocateMiBIsResident(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	conf, l := idleConf(t, "hog", `{"allocateMiB":96}`)
	p := startFixture(t, "-instance-conf", conf)
	waitServing(t, p, controlClient(t, l.Port), 20*time.Second) // allocation happens before serving
	if rss := vmRSSKiB(t, p.cmd.Process.Pid); rss < 96*1024 {
		t.Errorf("VmRSS = %d KiB, want >= %d", rss, 96*1024)
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.exitCode(t, 15*time.Second); code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

func vmRSSKiB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestHealthCheckWatchdog(t *testing.T) {
	t.Parallel()
	t.Run("exits without health checks", func(t *testing.T) {
		t.Parallel()
		conf, _ := idleConf(t, "unwatched", "")
		start := time.Now()
		p := startFixture(t, "-instance-conf", withKeys(t, conf, map[string]any{"expectedHealthCheckInterval": 1}))
		if code := p.exitCode(t, 20*time.Second); code != exitOK {
			t.Fatalf("exit code %d, want 0", code)
		}
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("exited after %v, before 3 x interval", d)
		}
		if !strings.Contains(p.out.String(), "haven't received health check") {
			t.Errorf("no watchdog message:\n%s", p.out.String())
		}
	})
	t.Run("stays up with health checks", func(t *testing.T) {
		t.Parallel()
		conf, l := idleConf(t, "watched", "")
		p := startFixture(t, "-instance-conf", withKeys(t, conf, map[string]any{"expectedHealthCheckInterval": 1}))
		cl := controlClient(t, l.Port)
		waitServing(t, p, cl, 20*time.Second)
		for range 25 { // 5 s = 5 x interval
			call(t, cl.HealthCheck)
			time.Sleep(200 * time.Millisecond)
		}
		if p.exited() {
			t.Fatal("exited although health-checked")
		}
		p.signal(t, syscall.SIGTERM)
		if code := p.exitCode(t, 15*time.Second); code != exitOK {
			t.Errorf("exit code after SIGTERM = %d, want 0", code)
		}
	})
}

func TestKillAfterIdleMs(t *testing.T) {
	conf, _ := idleConf(t, "idler", "")
	p := startFixture(t, "-instance-conf", withKeys(t, conf, map[string]any{"killAfterIdleMs": 500}))
	if code := p.exitCode(t, 20*time.Second); code != exitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestGRPCPortInUse(t *testing.T) {
	conf, l := idleConf(t, "clash", "")
	first := startFixture(t, "-instance-conf", conf)
	waitServing(t, first, controlClient(t, l.Port), 20*time.Second)
	second := startFixture(t, "-instance-conf", withKeys(t, conf, map[string]any{"metricsPort": harness.FreePort(t)}))
	if code := second.exitCode(t, 20*time.Second); code != exitFatal {
		t.Errorf("second instance on the same port: exit code %d, want %d", code, exitFatal)
	}
}
