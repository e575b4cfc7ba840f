package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// saslPrincipals are the test realm's principals: the workers' service
// principal (the one Pulsar's client asks a ticket for: "broker/" + the admin
// URL's host), a client the workers accept and make super-user, and one
// outside saslJaasClientAllowedIds.
const (
	saslService  = "broker/localhost"
	saslAdmin    = "pulsar-admin"
	saslOutsider = "outsider"
)

// TestSASLKerberos runs the distribution's pulsar-admin with
// AuthenticationSasl and a keytab against one of our workers and one Java
// worker, both configured the same way (AuthenticationProviderSasl, the same
// JAAS section, allowed ids and signer secret, authorization on), with a real
// MIT KDC that scripts/kdc.sh creates for the test. Each client gets the same
// outcome from both: the super-user creates and lists functions (with
// authorization on, which also shows both map the principal to the same
// role), and a principal outside saslJaasClientAllowedIds is refused during
// the SASL exchange.
func TestSASLKerberos(t *testing.T) {
	t.Parallel() // own workers, ports and namespaces: overlaps with the other parallel tests
	p := harness.RequirePulsar(t)
	p.RequireJavaWorkers(t)
	kdc := harness.StartKDC(t, saslService, saslAdmin, saslOutsider)
	dir := t.TempDir()

	// What the Java worker gets through -Djava.security.auth.login.config, and
	// ours through saslJaasConfigFile.
	serverJAAS := writeJAAS(t, dir, "server", "PulsarFunction", kdc.Keytab(saslService), saslService+"@"+kdc.Realm)
	secret := filepath.Join(dir, "role-token-secret")
	if err := os.WriteFile(secret, []byte(harness.UniqueName("secret")+"-signs-role-tokens"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The role is the client's principal as is (see internal/auth/sasl).
	adminRole := saslAdmin + "@" + kdc.Realm
	common := map[string]any{
		"authenticationEnabled":   true,
		"authenticationProviders": []string{"org.apache.pulsar.broker.authentication.AuthenticationProviderSasl"},
		"authorizationEnabled":    true,
		"superUserRoles":          []string{adminRole},
		// 4.0.8's Java worker fails authorization with a NullPointerException
		// when proxyRoles is unset.
		"proxyRoles":                              []string{},
		"authenticateMetricsEndpoint":             false,
		"saslJaasClientAllowedIds":                ".*pulsar.*",
		"saslJaasServerSectionName":               "PulsarFunction",
		"saslJaasServerRoleTokenSignerSecretPath": "file://" + secret,
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{"pulsarFunctionsNamespace": "public/" + harness.UniqueName("sasl")}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	goPort, javaPort := harness.FreePort(t), harness.FreePort(t)
	jw := harness.StartJavaWorker(t, p, "sasl-java", javaPort,
		harness.JavaWorkerConfig(t, p, "sasl-java", javaPort, with(nil)),
		"-Djava.security.auth.login.config="+serverJAAS, "-Djava.security.krb5.conf="+kdc.Krb5Conf)
	gw := harness.StartWorker(t, "sasl-go", goPort, harness.WorkerConfig(t, p, "sasl-go", goPort, with(map[string]any{
		"saslJaasConfigFile": serverJAAS,
		"saslKrb5ConfigFile": kdc.Krb5Conf,
	})))
	gw.WaitReady(time.Minute)
	jw.WaitReady(4 * time.Minute)
	workers := map[string]*harness.Worker{"go": gw, "java": jw}

	// admin runs pulsar-admin as principal (its keytab in its own JAAS
	// PulsarClient section) against the worker, by host name "localhost".
	admin := func(principal string, w *harness.Worker, args ...string) (string, error) {
		jaas := writeJAAS(t, dir, principal+"-"+w.ID, "PulsarClient", kdc.Keytab(principal), principal+"@"+kdc.Realm)
		// C1 only: a short-lived JVM starts faster without the optimizing compiler.
		env := []string{"PULSAR_EXTRA_OPTS=-XX:TieredStopAtLevel=1 -Djava.security.auth.login.config=" + jaas +
			" -Djava.security.krb5.conf=" + kdc.Krb5Conf}
		return p.PulsarAdminEnv(t, env, fmt.Sprintf("http://localhost:%d", w.Port), append([]string{
			"--auth-plugin", "org.apache.pulsar.client.impl.auth.AuthenticationSasl",
			"--auth-params", `{"saslJaasClientSectionName":"PulsarClient","serverType":"broker"}`,
		}, args...)...)
	}
	// onBoth runs the same pulsar-admin command against both workers, one
	// after the other (two JVMs at once only slow each other down).
	onBoth := func(principal string, args func(kind string) []string) map[string]adminResult {
		res := map[string]adminResult{}
		for _, kind := range []string{"go", "java"} {
			start := time.Now()
			out, err := admin(principal, workers[kind], args(kind)...)
			res[kind] = adminResult{out: out, ok: err == nil}
			t.Logf("%s worker: pulsar-admin as %s took %s (err: %v)", kind, principal, time.Since(start).Round(time.Millisecond), err)
		}
		return res
	}
	names := map[string]string{"go": harness.UniqueName("sasl-fn"), "java": harness.UniqueName("sasl-fn")}
	jar := filepath.Join(p.Home, "examples", "api-examples.jar")

	steps := []struct {
		name      string
		principal string
		args      func(kind string) []string
		wantOK    bool
		// want is in the output of both workers' runs.
		want func(kind string) string
	}{
		{"super-user creates a function", saslAdmin, func(kind string) []string {
			n := names[kind]
			return []string{"functions", "create", "--tenant", "public", "--namespace", "default", "--name", n,
				"--jar", jar, "--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction",
				"--inputs", "persistent://public/default/" + n + "-in", "--output", "persistent://public/default/" + n + "-out"}
		}, true, func(string) string { return "Created successfully" }},
		{"super-user lists functions", saslAdmin, func(string) []string {
			return []string{"functions", "list", "--tenant", "public", "--namespace", "default"}
		}, true, func(kind string) string { return names[kind] }},
		{"principal outside saslJaasClientAllowedIds is refused", saslOutsider, func(string) []string {
			return []string{"functions", "list", "--tenant", "public", "--namespace", "default"}
		}, false, func(string) string { return "" }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := onBoth(st.principal, st.args)
			for _, kind := range []string{"go", "java"} {
				r := res[kind]
				if strings.TrimSpace(r.out) == "" {
					t.Errorf("%s worker: pulsar-admin printed nothing (did it time out?)", kind)
				}
				if r.ok != st.wantOK {
					t.Errorf("%s worker: pulsar-admin succeeded=%v, want %v:\n%s", kind, r.ok, st.wantOK, r.out)
				}
				if want := st.want(kind); !strings.Contains(r.out, want) {
					t.Errorf("%s worker: pulsar-admin output lacks %q:\n%s", kind, want, r.out)
				}
			}
			if g, j := res["go"].firstError(), res["java"].firstError(); g != j {
				t.Errorf("the workers answer differently:\n  go:   %s\n  java: %s", g, j)
			}
		})
	}
}

type adminResult struct {
	out string
	ok  bool
}

// firstError is the first line pulsar-admin printed about a failure, without
// the parts that name the worker (its port) or the function.
func (r adminResult) firstError() string {
	if r.ok {
		return ""
	}
	for _, l := range strings.Split(r.out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "WARNING") && !strings.Contains(l, " WARN ") && !strings.Contains(l, " INFO ") {
			return l
		}
	}
	return ""
}

// writeJAAS writes a JAAS file with one Krb5LoginModule section that logs in
// from keytab as principal.
func writeJAAS(t *testing.T, dir, name, section, keytab, principal string) string {
	t.Helper()
	path := filepath.Join(dir, name+"-jaas.conf")
	body := fmt.Sprintf(`%s {
    com.sun.security.auth.module.Krb5LoginModule required
    useKeyTab=true
    storeKey=true
    useTicketCache=false
    keyTab="%s"
    principal="%s";
};
`, section, keytab, principal)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
