// Package harness starts the real things end-to-end tests need: it finds the
// Pulsar standalone that `make test` started (PULSAR_* variables), builds and
// runs our worker binary as separate processes, and cleans up after each test.
package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pulsar is the standalone the tests share.
type Pulsar struct {
	Home          string // PULSAR_HOME, the unpacked distribution
	ServiceURL    string // pulsar://...
	WebServiceURL string // http://...
	// StateStorageURL is the standalone's stream storage for function state
	// (PULSAR_STATE_STORAGE_URL, bk://...); "" when it runs without.
	StateStorageURL string
	// The standalone's TLS listeners and the CA certificate file that
	// signed their certificate (PULSAR_SERVICE_URL_TLS, pulsar+ssl://...;
	// PULSAR_WEB_SERVICE_URL_TLS, https://...; PULSAR_TLS_CA); "" when it
	// has none. RequireBrokerTLS checks them.
	ServiceURLTLS, WebServiceURLTLS, TLSCA string
}

// RequirePulsar returns the shared standalone. Without one the test is
// skipped locally, saying why, and fails under CI=true: nothing skips
// silently in CI. With -short (make unit) it is always skipped: those runs
// are unit tests only, by choice.
func RequirePulsar(t testing.TB) Pulsar {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs a Pulsar standalone")
	}
	p := Pulsar{
		Home:             os.Getenv("PULSAR_HOME"),
		ServiceURL:       os.Getenv("PULSAR_SERVICE_URL"),
		WebServiceURL:    os.Getenv("PULSAR_WEB_SERVICE_URL"),
		StateStorageURL:  os.Getenv("PULSAR_STATE_STORAGE_URL"),
		ServiceURLTLS:    os.Getenv("PULSAR_SERVICE_URL_TLS"),
		WebServiceURLTLS: os.Getenv("PULSAR_WEB_SERVICE_URL_TLS"),
		TLSCA:            os.Getenv("PULSAR_TLS_CA"),
	}
	if p.ServiceURL == "" || p.WebServiceURL == "" {
		Unavailable(t, "no Pulsar standalone: PULSAR_SERVICE_URL/PULSAR_WEB_SERVICE_URL unset (run `make test`, or `eval \"$(make -s pulsar-up)\"` first)")
	}
	resp, err := http.Get(p.WebServiceURL + "/admin/v2/clusters")
	if err != nil {
		Unavailable(t, fmt.Sprintf("Pulsar standalone at %s does not answer: %v", p.WebServiceURL, err))
	}
	resp.Body.Close()
	return p
}

// RequireStateStorage returns the standalone's stream storage URL; without
// one the test is skipped locally and fails under CI=true.
func (p Pulsar) RequireStateStorage(t testing.TB) string {
	t.Helper()
	if p.StateStorageURL == "" {
		Unavailable(t, "no stream storage for function state: PULSAR_STATE_STORAGE_URL unset (`make test` starts the standalone with PFW_PULSAR_STREAM_STORAGE=1)")
	}
	return p.StateStorageURL
}

// RequireBrokerTLS checks that the standalone listens with TLS too: the
// pulsar+ssl:// and https:// URLs and the CA to trust, and that the https
// admin API answers with a certificate of that CA. Without them the test is
// skipped locally and fails under CI=true.
func (p Pulsar) RequireBrokerTLS(t testing.TB) {
	t.Helper()
	if p.ServiceURLTLS == "" || p.WebServiceURLTLS == "" || p.TLSCA == "" {
		Unavailable(t, "no TLS listeners on the Pulsar standalone: PULSAR_SERVICE_URL_TLS/PULSAR_WEB_SERVICE_URL_TLS/PULSAR_TLS_CA unset (scripts/pulsar.sh up exports them)")
	}
	pem, err := os.ReadFile(p.TLSCA)
	if err != nil {
		Unavailable(t, fmt.Sprintf("the standalone's CA certificate: %v", err))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		Unavailable(t, fmt.Sprintf("the standalone's CA certificate %s holds no PEM certificate", p.TLSCA))
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get(p.WebServiceURLTLS + "/admin/v2/clusters")
	if err != nil {
		Unavailable(t, fmt.Sprintf("Pulsar standalone at %s does not answer over TLS: %v", p.WebServiceURLTLS, err))
	}
	resp.Body.Close()
}

// Unavailable skips the test locally, saying why, and fails it under CI=true:
// nothing a test needs may be missing silently in CI.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skip(why)
}

// Admin calls the broker's admin REST API; it fails the test on transport
// errors and returns the status and body.
func (p Pulsar) Admin(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	return Do(t, method, p.WebServiceURL+path, body)
}

// Do sends a JSON request and returns the status and body.
func Do(t testing.TB, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("marshal %T: %v", body, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// UniqueName returns a name no other test run uses, for namespaces and topics.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%04x", prefix, time.Now().Unix()%100000, rand.IntN(0x10000))
}

// Ports FreePort hands out: below Linux's default ephemeral range (32768-60999),
// from which the kernel picks the local port of every outgoing connection and
// of every listen on port 0 (instances' ports among them) — a port taken from
// that range could be gone again by the time a slow JVM binds it.
const (
	freePortLow  = 20000
	freePortHigh = 32000
)

var handedOut sync.Map // int -> struct{}: never the same port twice in one test binary

// FreePort returns a loopback TCP port nobody listens on right now, chosen at
// random below the ephemeral range and not handed out before by this process.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := freePortLow + rand.IntN(freePortHigh-freePortLow)
		if _, taken := handedOut.LoadOrStore(port, struct{}{}); taken {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port
	}
	t.Fatalf("find free port: no port in %d-%d could be bound after 200 tries", freePortLow, freePortHigh)
	return 0
}

// Eventually polls cond until it returns nil or the timeout passes, then
// fails with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// WorkerBinary builds cmd/pulsar-functions-worker once per test process (or
// uses PFW_BIN) and returns its path.
func WorkerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PFW_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pfw-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pulsar-functions-worker")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/pulsar-functions-worker")
		cmd.Dir = RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build worker: %v", buildErr)
	}
	return binPath
}

// RepoRoot is the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// WithTimeout is context.WithTimeout tied to the test's cleanup.
func WithTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// trimLog keeps the end of a long log for failure messages.
func trimLog(b []byte, max int) string {
	s := string(b)
	if len(s) > max {
		s = "...\n" + s[len(s)-max:]
	}
	return strings.TrimRight(s, "\n")
}
