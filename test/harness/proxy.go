package harness

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proxy is a Pulsar proxy of the pinned distribution started by a test.
type Proxy struct {
	WebPort int
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// WebURL is the proxy's HTTP admin URL.
func (x *Proxy) WebURL() string { return "http://127.0.0.1:" + strconv.Itoa(x.WebPort) }

// StartProxy runs `bin/pulsar proxy` of the distribution with the
// distribution's conf/proxy.conf plus settings (key=value lines replacing the
// file's), on ports of its own, a bounded heap and its own log, and waits
// until its web service answers. It is stopped when the test ends.
func StartProxy(t testing.TB, p Pulsar, settings map[string]string) *Proxy {
	t.Helper()
	p.RequireJavaWorkers(t)
	dir := t.TempDir()
	x := &Proxy{WebPort: FreePort(t), LogPath: filepath.Join(dir, "log", "pulsar-proxy.log"), done: make(chan struct{})}
	all := map[string]string{
		"servicePort":    strconv.Itoa(FreePort(t)),
		"webServicePort": strconv.Itoa(x.WebPort),
		"bindAddress":    "127.0.0.1",
	}
	for k, v := range settings {
		all[k] = v
	}
	conf := filepath.Join(dir, "proxy.conf")
	writeProperties(t, filepath.Join(p.Home, "conf", "proxy.conf"), conf, all)

	cmd := exec.Command(filepath.Join(p.Home, "bin", "pulsar"), "proxy")
	cmd.Dir = dir
	env := []string{
		"PULSAR_PROXY_CONF=" + conf,
		"PULSAR_MEM=-Xms64m -Xmx256m -XX:MaxDirectMemorySize=256m",
		"PULSAR_GC=-XX:+UseSerialGC",
		"PULSAR_LOG_DIR=" + filepath.Dir(x.LogPath),
		"PULSAR_LOG_FILE=" + filepath.Base(x.LogPath),
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains([]string{"PULSAR_PROXY_CONF", "PULSAR_MEM", "PULSAR_GC", "PULSAR_GC_LOG", "PULSAR_EXTRA_OPTS",
			"PULSAR_LOG_DIR", "PULSAR_LOG_FILE", "PULSAR_LOG_CONF", "JAVA_TOOL_OPTIONS"}, k) {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	out, err := os.Create(filepath.Join(dir, "proxy.out"))
	if err != nil {
		t.Fatalf("create proxy output: %v", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	x.cmd = cmd
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(x.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-x.done
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("end of the proxy's output (%s):\n%s", out.Name(), trimLog(b, 4000))
		}
	})
	Eventually(t, 8*time.Minute, "the proxy's web service answers", func() error {
		select {
		case <-x.done:
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("the proxy exited:\n%s", trimLog(b, 4000))
		default:
		}
		resp, err := http.Get(x.WebURL() + "/metrics")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return x
}

// writeProperties copies a Java properties file, replacing the values of
// the keys in set and adding the keys it does not have.
func writeProperties(t testing.TB, base, path string, set map[string]string) {
	t.Helper()
	f, err := os.Open(base)
	if err != nil {
		t.Fatalf("read %s: %v", base, err)
	}
	defer f.Close()
	var b strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		k, _, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if v, replace := set[k]; ok && replace && !strings.HasPrefix(k, "#") {
			line, seen[k] = k+"="+v, true
		}
		b.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", base, err)
	}
	for k, v := range set {
		if !seen[k] {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}
