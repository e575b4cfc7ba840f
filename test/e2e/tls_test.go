package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// securePair is one of our workers and one Java worker of the pinned
// distribution configured the same way: HTTPS beside HTTP, certificates of
// the test's CA, AuthenticationProviderTls, authorization with the super
// user "admin", each in a functions namespace of its own; and a Pulsar proxy
// in front of each that reaches it at functionWorkerWebServiceURLTLS.
type securePair struct {
	p       harness.Pulsar
	ca      *harness.CA
	ns      string // public/<unique>, where the tests' functions live
	admin   harness.Issued
	workers []*secureWorker // ours first, then the Java worker
}

type secureWorker struct {
	*harness.Worker
	tlsPort int
	proxy   *harness.Proxy
}

func (w *secureWorker) httpsURL() string { return "https://127.0.0.1:" + strconv.Itoa(w.tlsPort) }

// startSecurePair starts both workers and both proxies at once (JVMs are
// slow to start) and waits until all of them answer.
func startSecurePair(t *testing.T, p harness.Pulsar) *securePair {
	t.Helper()
	p.RequireJavaWorkers(t)
	s := &securePair{p: p, ca: harness.NewCA(t, "pfw-test-ca"), ns: "public/" + harness.UniqueName("tls")}
	s.admin = s.ca.Issue(t, "admin")
	server := s.ca.Issue(t, "worker")
	createNamespace(t, p, s.ns)

	type plan struct {
		kind          string
		id            string
		port, tlsPort int
	}
	var plans []plan
	for _, kind := range []string{harness.KindGo, harness.KindJava} {
		id := harness.UniqueName("tls-" + kind)
		plans = append(plans, plan{kind: kind, id: id, port: harness.FreePort(t), tlsPort: harness.FreePort(t)})
	}
	for _, pl := range plans {
		fns := "public/" + harness.UniqueName("fns-"+pl.kind)
		createNamespace(t, p, fns)
		ov := map[string]any{
			"pulsarFunctionsNamespace":             fns,
			"tlsEnabled":                           true,
			"workerPortTls":                        pl.tlsPort,
			"tlsCertificateFilePath":               server.Cert,
			"tlsKeyFilePath":                       server.Key,
			"tlsTrustCertsFilePath":                s.ca.Cert,
			"tlsAllowInsecureConnection":           false,
			"tlsRequireTrustedClientCertOnConnect": false,
			"authenticationEnabled":                true,
			"authenticationProviders":              []string{"org.apache.pulsar.broker.authentication.AuthenticationProviderTls"},
			"authorizationEnabled":                 true,
			"superUserRoles":                       []string{"admin"},
			// Unset, the Java worker answers a non-super-user with a
			// NullPointerException (500) instead of its authorization check.
			"proxyRoles":                  []string{},
			"authenticateMetricsEndpoint": false, // /initialized answers without a certificate
			// Java instances stop themselves after three missed health
			// checks; a slow check keeps cold JVMs alive on a loaded machine.
			"instanceLivenessCheckFreqMs": 30000,
		}
		var w *harness.Worker
		if pl.kind == harness.KindJava {
			w = harness.StartJavaWorker(t, p, pl.id, pl.port, harness.JavaWorkerConfig(t, p, pl.id, pl.port, ov))
		} else {
			w = harness.StartWorker(t, pl.id, pl.port, harness.WorkerConfig(t, p, pl.id, pl.port, ov))
		}
		s.workers = append(s.workers, &secureWorker{Worker: w, tlsPort: pl.tlsPort})
	}
	// The proxies start while the workers do: a proxy needs its worker only
	// for requests.
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.proxy = harness.StartProxy(t, p, map[string]string{
				"clusterName":                          "standalone",
				"brokerServiceURL":                     p.ServiceURL,
				"brokerWebServiceURL":                  p.WebServiceURL,
				"brokerServiceURLTLS":                  strings.Replace(p.ServiceURL, "pulsar://", "pulsar+ssl://", 1),
				"brokerWebServiceURLTLS":               strings.Replace(p.WebServiceURL, "http://", "https://", 1),
				"functionWorkerWebServiceURLTLS":       w.httpsURL(),
				"tlsEnabledWithBroker":                 "true",
				"brokerClientTrustCertsFilePath":       s.ca.Cert,
				"brokerClientAuthenticationPlugin":     "org.apache.pulsar.client.impl.auth.AuthenticationTls",
				"brokerClientAuthenticationParameters": "tlsCertFile:" + s.admin.Cert + ",tlsKeyFile:" + s.admin.Key,
			})
		}()
	}
	for _, w := range s.workers {
		w.WaitReady(8 * time.Minute)
	}
	wg.Wait()
	// StartProxy fails the test from its goroutine; stop here rather than use a
	// proxy that never started.
	for _, w := range s.workers {
		if w.proxy == nil {
			t.Fatalf("the Pulsar proxy in front of the %s worker did not start (see above)", w.Kind)
		}
	}
	return s
}

func createNamespace(t *testing.T, p harness.Pulsar, ns string) {
	t.Helper()
	if code, body := p.Admin(t, http.MethodPut, "/admin/v2/namespaces/"+ns, nil); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("create namespace %s: %d %s", ns, code, body)
	}
}

// tlsAuth are pulsar-admin's options for a client certificate.
func tlsAuth(cert harness.Issued) []string {
	return []string{"--auth-plugin", "org.apache.pulsar.client.impl.auth.AuthenticationTls",
		"--auth-params", "tlsCertFile:" + cert.Cert + ",tlsKeyFile:" + cert.Key}
}

// tlsAdminResult is what one pulsar-admin run showed: its exit code and the
// gist of its output (the lines that are not the JVM's logging, with ports
// and temporary paths replaced).
type tlsAdminResult struct {
	code int
	gist string
}

var (
	logLine  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT|^\S+ \[[^]]+\] (INFO|WARN|ERROR|DEBUG) |^\s+at |^SLF4J`)
	portLike = regexp.MustCompile(`127\.0\.0\.1:\d+|localhost:\d+`)
)

// adminCLI runs the distribution's bin/pulsar-admin against url with a
// client JVM tuned for a short life (C1 only, the serial collector: on a
// loaded 2-core machine that halves its start) and returns its combined
// output; err is set when it exits non-zero or runs past six minutes.
func adminCLI(t *testing.T, p harness.Pulsar, url string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.Home, "bin", "pulsar-admin"), append([]string{"--admin-url", url}, args...)...)
	cmd.Env = append(os.Environ(), "PULSAR_EXTRA_OPTS=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("pulsar-admin %s: %v after %s", strings.Join(args, " "), err, time.Since(start).Round(time.Second))
	return string(out), err
}

func runAdmin(t *testing.T, p harness.Pulsar, url string, args ...string) tlsAdminResult {
	t.Helper()
	out, err := adminCLI(t, p, url, args...)
	r := tlsAdminResult{}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		r.code = -1
	}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		// Jetty's error page names its servlet with an object hash.
		if strings.TrimSpace(l) == "" || logLine.MatchString(l) || strings.HasPrefix(l, `"servlet":`) {
			continue
		}
		keep = append(keep, portLike.ReplaceAllString(strings.TrimSpace(l), "127.0.0.1:PORT"))
	}
	r.gist = strings.Join(keep, "\n")
	return r
}

// TestTLS runs the real pulsar-admin against our HTTPS listener and against a
// Java worker's configured the same way, directly and through the real Pulsar
// proxy, and end-to-end encryption through both kinds of worker: each case
// must end the same on both (exit code and what pulsar-admin says).
func TestTLS(t *testing.T) {
	t.Parallel() // own workers, ports and namespaces: overlaps with the other parallel tests
	p := harness.RequirePulsar(t)
	s := startSecurePair(t, p)
	other := harness.NewCA(t, "other-ca")
	nobody := s.ca.Issue(t, "nobody")
	rogueAdmin := other.Issue(t, "admin")
	tenant, namespace, _ := strings.Cut(s.ns, "/")
	list := []string{"functions", "list", "--tenant", tenant, "--namespace", namespace}

	t.Run("pulsar-admin over HTTPS", func(t *testing.T) {
		cases := []struct {
			name     string
			options  []string
			wantCode int
			wantGist string // a part of what pulsar-admin prints
		}{
			{"trusted CA, certificate of the super user", append([]string{"--tls-trust-cert-path", s.ca.Cert}, tlsAuth(s.admin)...), 0, ""},
			{"trusted CA, no client certificate", []string{"--tls-trust-cert-path", s.ca.Cert}, 1, "401"},
			{"trusted CA, certificate of another role", append([]string{"--tls-trust-cert-path", s.ca.Cert}, tlsAuth(nobody)...), 1, "not authorized"},
			{"the wrong CA", append([]string{"--tls-trust-cert-path", other.Cert}, tlsAuth(s.admin)...), 1, ""},
			{"the wrong CA with --tls-allow-insecure", append([]string{"--tls-trust-cert-path", other.Cert, "--tls-allow-insecure"}, tlsAuth(s.admin)...), 0, ""},
			// The client sends only a certificate of a CA the server names
			// in its request, so this one is not sent at all.
			{"a client certificate of an unknown CA", append([]string{"--tls-trust-cert-path", s.ca.Cert}, tlsAuth(rogueAdmin)...), 1, "401"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				results := make([]tlsAdminResult, len(s.workers))
				var wg sync.WaitGroup
				for i, w := range s.workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						args := append([]string{"--request-timeout", "60"}, c.options...)
						results[i] = runAdmin(t, p, w.httpsURL(), append(args, list...)...)
					}()
				}
				wg.Wait()
				ours, java := results[0], results[1]
				t.Logf("ours: exit %d\n%s\nJava: exit %d\n%s", ours.code, ours.gist, java.code, java.gist)
				if java.code != c.wantCode || !strings.Contains(java.gist, c.wantGist) {
					t.Errorf("the Java worker: exit %d %q, want exit %d with %q (the test's expectation is wrong)", java.code, java.gist, c.wantCode, c.wantGist)
				}
				if ours.code != java.code || ours.gist != java.gist {
					t.Errorf("ours: exit %d\n%s\nthe Java worker: exit %d\n%s", ours.code, ours.gist, java.code, java.gist)
				}
			})
		}
	})

	t.Run("through the Pulsar proxy", func(t *testing.T) {
		for _, w := range s.workers {
			r := runAdmin(t, p, w.proxy.WebURL(), list...)
			if r.code != 0 {
				t.Errorf("%s worker through the proxy: exit %d\n%s", w.Kind, r.code, r.gist)
			}
		}
	})

	t.Run("end-to-end encryption", func(t *testing.T) {
		testEncryption(t, s)
	})
}
