package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// standaloneConf writes a conf directory laid out as the distribution's:
// conf/standalone.conf and conf/functions_worker.yml beside it, which is where
// the broker-embedded Java worker reads its file from. standalone.conf is the
// distribution's own, with the settings scripts/pulsar.sh starts the shared
// standalone with appended (a later key wins in a properties file), so that
// it describes the running standalone, then extra lines.
func standaloneConf(t *testing.T, p harness.Pulsar, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(p.Home, "conf", "standalone.conf"))
	if err != nil {
		t.Fatalf("the distribution's standalone.conf: %v", err)
	}
	svc, err := url.Parse(p.ServiceURL)
	if err != nil {
		t.Fatal(err)
	}
	web, err := url.Parse(p.WebServiceURL)
	if err != nil {
		t.Fatal(err)
	}
	lines := append([]string{
		"", "# As scripts/pulsar.sh starts the shared standalone",
		"bindAddress=127.0.0.1", "advertisedAddress=127.0.0.1",
		"brokerServicePort=" + svc.Port(), "webServicePort=" + web.Port(),
		"functionsWorkerEnabled=false",
	}, extra...)
	conf = append(conf, []byte(strings.Join(lines, "\n")+"\n")...)
	path := filepath.Join(dir, "standalone.conf")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	yml, err := os.ReadFile(filepath.Join(p.Home, "conf", "functions_worker.yml"))
	if err != nil {
		t.Fatalf("the distribution's functions_worker.yml: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "functions_worker.yml"), yml, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// isolation are the only settings a co-located test worker gets besides the
// conf directory: a port and a functions namespace no other test uses, as the
// machine is shared (the distribution's file says 6750 and public/functions).
func isolation(port int, ns string) []string {
	return []string{fmt.Sprintf("PF_workerPort=%d", port), "PF_pulsarFunctionsNamespace=" + ns}
}

// TestColocated runs our worker the way an operator runs it beside a broker:
// `run --broker-conf` with the standalone's own conf directory and nothing
// else. It joins, runs the distribution's Java ExclamationFunction, and
// check-config shows where every value came from. With a token-secured
// broker.conf it answers the same as the distribution's Java worker given the
// equivalent functions_worker.yml, and an edit of broker.conf is applied live.
func TestColocated(t *testing.T) {
	t.Parallel() // own workers, ports and namespaces: overlaps with the other parallel tests
	p := harness.RequirePulsar(t)
	p.RequireJavaWorkers(t)

	// The Java worker of the token comparison takes longest to start: start it first.
	tok := newTokens(t)
	javaPort := harness.FreePort(t)
	javaCfg := harness.JavaWorkerConfig(t, p, "colo-java", javaPort, map[string]any{
		"pulsarFunctionsNamespace": "public/" + harness.UniqueName("colo-java"),
		"authenticationEnabled":    true,
		"authenticationProviders":  []string{"org.apache.pulsar.broker.authentication.AuthenticationProviderToken"},
		"authorizationEnabled":     true,
		"superUserRoles":           []string{"super"},
		// The broker's default (an empty set); the Java worker's authorization
		// fails with a NullPointerException when the key is left null, as in
		// the distribution's file.
		"proxyRoles":                           []string{},
		"properties":                           map[string]string{"tokenSecretKey": "file://" + tok.keyFile},
		"brokerClientAuthenticationPlugin":     "org.apache.pulsar.client.impl.auth.AuthenticationToken",
		"brokerClientAuthenticationParameters": "token:" + tok.super,
	})
	java := harness.StartJavaWorker(t, p, "colo-java", javaPort, javaCfg)

	t.Run("joins and runs the Java ExclamationFunction", func(t *testing.T) {
		conf := standaloneConf(t, p)
		port, ns := harness.FreePort(t), "public/"+harness.UniqueName("colo")
		w := harness.StartWorkerArgs(t, "colo", port, filepath.Dir(filepath.Dir(conf)),
			[]string{"--broker-conf", conf}, isolation(port, ns)...)
		w.WaitReady(time.Minute)

		var members []struct {
			WorkerID string `json:"workerId"`
		}
		if err := w.GetJSON("/admin/v2/worker/cluster", &members); err != nil {
			t.Fatal(err)
		}
		// The id the broker-embedded Java worker would have, with our port.
		want := fmt.Sprintf("c-standalone-fw-127.0.0.1-%d", port)
		if len(members) != 1 || members[0].WorkerID != want {
			t.Fatalf("members %+v, want only %s", members, want)
		}

		// Created and watched through the REST API pulsar-admin uses: a
		// pulsar-admin JVM per status poll costs minutes on a loaded machine.
		f := &fn{kind: "functions", name: harness.UniqueName("colo-excl"), parallelism: 1, stopped: map[int]bool{}}
		in, out := "persistent://public/default/"+f.name+"-in", "persistent://public/default/"+f.name+"-out"
		submit(t, w, http.MethodPost, f, map[string]any{"runtime": "JAVA", "inputs": []string{in}, "output": out,
			"parallelism": 1, "className": "org.apache.pulsar.functions.api.examples.ExclamationFunction"},
			filepath.Join(p.Home, "examples", "api-examples.jar"))
		harness.Eventually(t, 4*time.Minute, f.name+" running", func() error {
			var st functionStatus
			if err := w.GetJSON(f.path()+"/status", &st); err != nil {
				return err
			}
			if st.NumInstances != 1 || st.NumRunning != 1 {
				return fmt.Errorf("%d of %d running: %+v", st.NumRunning, st.NumInstances, st.Instances)
			}
			return nil
		})
		waitConsuming(t, p, w, f.name, 1)
		exclamationRoundTrip(t, p, in, out, 5, "!", true)
	})

	t.Run("check-config shows each value and its origin", func(t *testing.T) {
		conf := standaloneConf(t, p)
		port, ns := 6799, "public/colo-check"
		cmd := exec.Command(harness.WorkerBinary(t), "check-config", "--broker-conf", conf)
		cmd.Env = append(os.Environ(), isolation(port, ns)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("check-config: %v\n%s", err, b)
		}
		svc, _ := url.Parse(p.ServiceURL)
		web, _ := url.Parse(p.WebServiceURL)
		got := strings.NewReplacer(
			filepath.Dir(conf), "$CONF",
			`narExtractionDirectory: "`+os.TempDir()+`"`, `narExtractionDirectory: "$TMPDIR"`,
			"127.0.0.1:"+svc.Port()+`"`, `127.0.0.1:$BROKER_PORT"`,
			"127.0.0.1:"+web.Port()+`"`, `127.0.0.1:$WEB_PORT"`,
		).Replace(string(b))
		goldenFile(t, "colocated-check-config.golden", got)
	})

	t.Run("a token-secured broker.conf answers as the Java worker", func(t *testing.T) {
		// The shared standalone itself is not secured (other tests use it), so
		// this checks what the worker enforces itself: it authenticates tokens
		// with the broker's key and authorizes with the broker's super users and
		// namespace permissions, as the broker-embedded worker does.
		app := "public/" + harness.UniqueName("colo-app")
		if code, b := p.Admin(t, http.MethodPut, "/admin/v2/namespaces/"+app, map[string]any{}); code/100 != 2 {
			t.Fatalf("create %s: %d %s", app, code, b)
		}
		t.Cleanup(func() { p.Admin(t, http.MethodDelete, "/admin/v2/namespaces/"+app, nil) })
		if code, b := p.Admin(t, http.MethodPost, "/admin/v2/namespaces/"+app+"/permissions/fnrole", []string{"functions"}); code/100 != 2 {
			t.Fatalf("grant functions on %s: %d %s", app, code, b)
		}
		conf := standaloneConf(t, p,
			"authenticationEnabled=true",
			"authorizationEnabled=true",
			"authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken",
			"tokenSecretKey=file://"+tok.keyFile,
			"superUserRoles=super",
			"brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken",
			"brokerClientAuthenticationParameters=token:"+tok.super)
		port := harness.FreePort(t)
		ours := harness.StartWorkerArgs(t, "colo-auth", port, filepath.Dir(filepath.Dir(conf)),
			[]string{"--broker-conf", conf}, isolation(port, "public/"+harness.UniqueName("colo-auth"))...)
		for _, w := range []*harness.Worker{ours, java} {
			waitInitialized(t, w, tok.super, 3*time.Minute)
		}

		path := "/admin/v3/functions/" + app
		cases := []struct {
			who   string
			token string
			code  int
		}{
			{"super-user", tok.super, http.StatusOK},
			{"role with functions permission on the namespace", tok.fnrole, http.StatusOK},
			{"unknown role", tok.stranger, http.StatusUnauthorized},
			{"token signed with another key", tok.forged, http.StatusUnauthorized},
			{"no token", "", http.StatusUnauthorized},
		}
		for _, c := range cases {
			javaCode, javaBody := get(t, java, path, c.token)
			ourCode, ourBody := get(t, ours, path, c.token)
			if javaCode != c.code {
				t.Errorf("%s: the Java worker answered %d %s, want %d", c.who, javaCode, javaBody, c.code)
			}
			if ourCode != javaCode {
				t.Errorf("%s: we answered %d %s, the Java worker %d %s", c.who, ourCode, ourBody, javaCode, javaBody)
			}
		}

		// An edit of broker.conf is picked up like one of functions_worker.yml:
		// superUserRoles is applied live (the last key of a properties file wins).
		f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("superUserRoles=super,stranger\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		harness.Eventually(t, time.Minute, "stranger becomes a super-user after the edit", func() error {
			if code, body := get(t, ours, path, tok.stranger); code != http.StatusOK {
				return fmt.Errorf("%d %s", code, body)
			}
			return nil
		})
	})
}

// tokens are HS256 tokens signed with one secret key file, plus one signed
// with another key.
type tokens struct {
	keyFile                         string
	super, fnrole, stranger, forged string
}

func newTokens(t *testing.T) tokens {
	t.Helper()
	key, other := make([]byte, 32), make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(other); err != nil {
		t.Fatal(err)
	}
	tok := tokens{keyFile: filepath.Join(t.TempDir(), "secret.key")}
	if err := os.WriteFile(tok.keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(sub string, k []byte) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub}).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tok.super, tok.fnrole, tok.stranger = sign("super", key), sign("fnrole", key), sign("stranger", key)
	tok.forged = sign("super", other)
	return tok
}

// get GETs path from w with a bearer token ("" for none).
func get(t *testing.T, w *harness.Worker, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", w.URL(), path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitInitialized waits until w's /initialized answers 200 to the super-user.
func waitInitialized(t *testing.T, w *harness.Worker, token string, timeout time.Duration) {
	t.Helper()
	harness.Eventually(t, timeout, w.Kind+" worker "+w.ID+" initialized", func() error {
		if !w.Running() {
			t.Fatalf("%s worker %s exited", w.Kind, w.ID)
		}
		req, _ := http.NewRequest(http.MethodGet, w.URL()+"/initialized", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/initialized: %s", resp.Status)
		}
		return nil
	})
}

// goldenFile compares got with testdata/name, or rewrites it with -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", path, err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs first at line %d (run with -update to accept):\n got: %s\nwant: %s", path, i+1, g, w)
				break
			}
		}
	}
}
