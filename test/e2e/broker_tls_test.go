package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// brokerTLSSettings are the functions_worker.yml keys of a worker that knows
// the broker only by its TLS listeners (no plain URL anywhere), trusting the
// certificates of trustCA and checking the broker's host name, in a
// functions namespace of its own, with package management on, so that a
// function's package goes to the broker over https too.
//
// 4.0.8's worker hands its TLS settings (useTls, tlsTrustCertsFilePath,
// tlsAllowInsecureConnection, tlsEnableHostnameVerification) to the
// instances it starts only when authenticationEnabled is on
// (FunctionRuntimeManager); without them an instance does not trust the
// broker's certificate and never connects, with either kind of worker. So
// authentication is on, with no provider, which lets every request through.
func brokerTLSSettings(p harness.Pulsar, fns, trustCA string) map[string]any {
	return map[string]any{
		"pulsarServiceUrl":                       p.ServiceURLTLS,
		"pulsarWebServiceUrl":                    p.WebServiceURLTLS,
		"useTls":                                 true,
		"brokerClientTrustCertsFilePath":         trustCA,
		"tlsTrustCertsFilePath":                  trustCA,
		"tlsAllowInsecureConnection":             false,
		"tlsEnableHostnameVerification":          true,
		"authenticationEnabled":                  true,
		"authenticationProviders":                []string{},
		"pulsarFunctionsNamespace":               fns,
		"functionsWorkerEnablePackageManagement": true,
		// Java instances stop themselves after three missed health checks; a
		// slow check keeps cold JVMs alive on a loaded machine.
		"instanceLivenessCheckFreqMs": 30000,
	}
}

// startBrokerTLSWorker starts a worker of kind with brokerTLSSettings plus
// extra, without waiting for it.
func startBrokerTLSWorker(t *testing.T, p harness.Pulsar, kind, trustCA string, extra map[string]any) *harness.Worker {
	t.Helper()
	id := harness.UniqueName("btls-" + kind)
	fns := "public/" + harness.UniqueName("fns-btls-"+kind)
	createNamespace(t, p, fns)
	ov := brokerTLSSettings(p, fns, trustCA)
	for k, v := range extra {
		ov[k] = v
	}
	port := harness.FreePort(t)
	if kind == harness.KindJava {
		return harness.StartJavaWorker(t, p, id, port, harness.JavaWorkerConfig(t, p, id, port, ov))
	}
	return harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, ov))
}

// TestWorkerOverBrokerTLS: a worker configured with nothing but the broker's
// pulsar+ssl:// and https:// URLs and the CA that signed the broker's
// certificate starts, and a Java and a Go function created through the real
// pulsar-admin (their files uploaded, so they travel to the broker's package
// service over https) process messages. A CA that did not sign the
// broker's certificate keeps the worker from starting. Both cases run
// against our worker and, side by side, a Java worker of the pinned
// distribution with the same settings: both must end the same way.
func TestWorkerOverBrokerTLS(t *testing.T) {
	t.Parallel() // own workers, namespaces and topics
	p := harness.RequirePulsar(t)
	p.RequireBrokerTLS(t)
	wrongCA := harness.NewCA(t, "not-the-brokers-ca").Cert
	jar, goFn := filepath.Join(p.Home, "examples", "api-examples.jar"), buildGoFunction(t)
	runtimes := []struct {
		name, file string
		args       []string
	}{
		{"java", jar, []string{"--jar", jar, "--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction"}},
		{"go", goFn, []string{"--go", goFn}},
	}

	for _, kind := range []string{harness.KindGo, harness.KindJava} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			t.Run("trusted CA: starts and runs functions", func(t *testing.T) {
				w := startBrokerTLSWorker(t, p, kind, p.TLSCA, nil)
				w.WaitReady(8 * time.Minute)
				for _, rt := range runtimes {
					t.Run(rt.name, func(t *testing.T) {
						name := harness.UniqueName("excl-btls-" + kind + "-" + rt.name)
						in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
						admin(t, p, w, append([]string{"functions", "create", "--tenant", "public", "--namespace", "default",
							"--name", name, "--inputs", in, "--output", out}, rt.args...)...)
						waitRunning(t, p, w, name, 1)
						exclamationRoundTripWith(t, pulsar.ClientOptions{
							URL:                   p.ServiceURLTLS,
							TLSTrustCertsFilePath: p.TLSCA,
							TLSValidateHostname:   true,
						}, in, out, 20, "!", false)

						// The worker stored the file in the broker's package service
						// and reads it back from there.
						var versions []string
						code, body := p.Admin(t, http.MethodGet, "/admin/v3/packages/function/public/default/"+name, nil)
						if err := json.Unmarshal(body, &versions); code != http.StatusOK || err != nil || len(versions) == 0 {
							t.Errorf("versions of package function://public/default/%s: %d %s", name, code, body)
						}
						dest := filepath.Join(t.TempDir(), "downloaded")
						admin(t, p, w, "functions", "download", "--tenant", "public", "--namespace", "default", "--name", name,
							"--destination-file", dest)
						got, _ := os.ReadFile(dest)
						if want, _ := os.ReadFile(rt.file); !bytes.Equal(got, want) {
							t.Errorf("functions download: %d bytes, want the %d of %s", len(got), len(want), rt.file)
						}
						admin(t, p, w, "functions", "delete", "--tenant", "public", "--namespace", "default", "--name", name)
					})
				}
			})

			t.Run("untrusted CA: does not start", func(t *testing.T) {
				// One retry: the Java worker retries initialBrokerReconnectMaxRetries
				// times before it gives up.
				w := startBrokerTLSWorker(t, p, kind, wrongCA, map[string]any{"initialBrokerReconnectMaxRetries": 1})
				code, err := w.Wait(5 * time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if code == 0 {
					t.Fatalf("%s worker exited 0 with a CA that did not sign the broker's certificate", kind)
				}
				log := w.Log()
				want := []string{p.WebServiceURLTLS}
				if kind == harness.KindGo {
					want = append(want, wrongCA, "not trusted")
				} else {
					want = append(want, "PKIX path building failed")
				}
				for _, s := range want {
					if !strings.Contains(log, s) {
						t.Errorf("the log of the %s worker does not mention %q", kind, s)
					}
				}
				t.Logf("%s worker exited %d; what it said about the certificate:\n%s", kind, code, certificateLines(log, 3))
			})
		})
	}
}

// certificateLines returns the first n lines of a worker's log that speak
// of the broker's certificate.
func certificateLines(log string, n int) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if len(keep) < n && (strings.Contains(l, "PKIX") || strings.Contains(l, "not trusted")) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
