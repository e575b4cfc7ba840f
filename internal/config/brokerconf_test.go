package config

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	fixtureBroker = "testdata/brokerconf/broker.conf"
	fixtureWorker = "testdata/brokerconf/functions_worker.yml"
)

func loadColocated(t *testing.T, broker, worker string, env ...string) (*Config, Problems, *Colocated) {
	t.Helper()
	cfg, ps, co, err := LoadColocated(context.Background(), broker, worker, env)
	if err != nil {
		t.Fatalf("LoadColocated: %v", err)
	}
	return cfg, ps, co
}

// TestColocatedReport: check-config's listing of a token-secured broker's
// worker, every value with its origin, is testdata/brokerconf/report.golden.
func TestColocatedReport(t *testing.T) {
	cfg, ps, co := loadColocated(t, fixtureBroker, fixtureWorker, "PF_workerPort=6760")
	var out strings.Builder
	for _, p := range ps {
		out.WriteString(p.Severity.String() + ": " + p.String() + "\n")
	}
	if err := co.WriteReport(&out, cfg); err != nil {
		t.Fatal(err)
	}
	golden(t, "brokerconf/report.golden", out.String())
}

// TestColocatedInheritance: what the broker-embedded Java worker takes from the
// broker replaces functions_worker.yml and the environment; the rest of the
// worker's file stays.
func TestColocatedInheritance(t *testing.T) {
	cfg, ps, co := loadColocated(t, fixtureBroker, fixtureWorker, "PF_workerPort=6760", "PF_pulsarFunctionsCluster=env-loses")
	if ps.HasErrors() {
		t.Fatalf("problems: %q", ps)
	}
	checks := []struct {
		key  string
		got  any
		want any
	}{
		{"workerId", cfg.WorkerId, "c-prod-east-fw-broker-1.example.com-6760"},
		{"workerHostname", cfg.WorkerHostname, "broker-1.example.com"},
		{"workerPort (ours, not the broker's web port)", *cfg.WorkerPort, 6760},
		{"pulsarFunctionsCluster", cfg.PulsarFunctionsCluster, "prod-east"},
		{"pulsarServiceUrl", cfg.PulsarServiceUrl, "pulsar://localhost:6650"},
		{"pulsarWebServiceUrl", cfg.PulsarWebServiceUrl, "http://localhost:8080"},
		{"authenticationEnabled", cfg.AuthenticationEnabled, true},
		{"authenticationProviders", strings.Join(cfg.AuthenticationProviders, ","),
			"org.apache.pulsar.broker.authentication.AuthenticationProviderToken,org.apache.pulsar.broker.authentication.AuthenticationProviderTls"},
		{"authorizationEnabled", cfg.AuthorizationEnabled, true},
		{"superUserRoles", strings.Join(cfg.SuperUserRoles, ","), "admin,ops"},
		{"proxyRoles", strings.Join(cfg.ProxyRoles, ","), "proxy"},
		{"tokenSecretKey", cfg.Properties["tokenSecretKey"], "data:;base64,a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="},
		{"other properties stay", cfg.Properties["brokerClient_operationTimeoutMs"], "30000"},
		{"brokerClientAuthenticationPlugin", cfg.BrokerClientAuthenticationPlugin, "org.apache.pulsar.client.impl.auth.AuthenticationToken"},
		{"tlsTrustCertsFilePath", cfg.TlsTrustCertsFilePath, "/etc/pulsar/ca.pem"},
		{"broker client trust falls back to it", cfg.BrokerClientTrustCertsFilePath(), "/etc/pulsar/ca.pem"},
		{"configurationMetadataStoreUrl", cfg.ConfigurationMetadataStoreUrl, "zk:zk-1:2181,zk-2:2181/config"},
		{"deprecated zooKeeper timeout wins when above 0", cfg.MetadataStoreSessionTimeoutMillis, int64(45000)},
		{"functionsWorkerEnablePackageManagement", cfg.FunctionsWorkerEnablePackageManagement, true},
		{"saslJaasServerSectionName is the broker's default", cfg.SaslJaasServerSectionName, "PulsarBroker"},
		{"downloadDirectory from the worker file", cfg.DownloadDirectory, "/var/lib/pulsar-functions-worker/download"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
	if r := co.Replaced["pulsarFunctionsCluster"]; r.Kind != OriginEnv || r.Key != "PF_pulsarFunctionsCluster" {
		t.Errorf("replaced pulsarFunctionsCluster came from %v, want the environment", r)
	}
	if o := co.Origins["superUserRoles"]; o.Kind != OriginBroker || o.Line != 16 || o.Key != "superUserRoles" {
		t.Errorf("superUserRoles origin %v", o)
	}
	if o := co.Origins["pulsarFunctionsNamespace"]; o.Kind != OriginWorker || o.Line != 7 {
		t.Errorf("pulsarFunctionsNamespace origin %v", o)
	}
}

// writeBroker writes a broker.conf and the fixture worker file beside it.
func writeBroker(t *testing.T, conf string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	b := filepath.Join(dir, "broker.conf")
	if err := os.WriteFile(b, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(fixtureWorker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(WorkerConfBesideBroker(b), w, 0o644); err != nil {
		t.Fatal(err)
	}
	return b, WorkerConfBesideBroker(b)
}

func TestColocatedURLsAndIds(t *testing.T) {
	tests := []struct {
		name, conf, env             string
		service, web, id, hostnameS string
	}{
		{"defaults: localhost and the broker's default ports", "clusterName=c\nadvertisedAddress=h\n", "",
			"pulsar://localhost:6650", "http://localhost:8080", "c-c-fw-h-6750", "h"},
		{"a broker bound to one address is dialled there", "clusterName=c\nadvertisedAddress=h\nbindAddress=10.0.0.5\nbrokerServicePort=7650\nwebServicePort=9080\n", "",
			"pulsar://10.0.0.5:7650", "http://10.0.0.5:9080", "c-c-fw-h-6750", "h"},
		{"TLS only when the plain ports are off", "clusterName=c\nadvertisedAddress=h\nbrokerServicePort=\nbrokerServicePortTls=6651\nwebServicePort=\nwebServicePortTls=8443\n", "",
			"pulsar+ssl://localhost:6651", "https://localhost:8443", "c-c-fw-h-6750", "h"},
		{"useTls picks the TLS ports", "clusterName=c\nadvertisedAddress=h\nbrokerServicePortTls=6651\nwebServicePortTls=8443\n", "PF_useTls=true",
			"pulsar+ssl://localhost:6651", "https://localhost:8443", "c-c-fw-h-6750", "h"},
		{"the id takes the TLS port when TLS is on", "clusterName=c\nadvertisedAddress=h\ntlsEnabled=true\ntlsCertificateFilePath=/c.pem\ntlsKeyFilePath=/k.pem\n", "PF_workerPortTls=6751",
			"pulsar://localhost:6650", "http://localhost:8080", "c-c-fw-h-6751", "h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, w := writeBroker(t, tt.conf)
			var env []string
			if tt.env != "" {
				env = []string{tt.env}
			}
			cfg, ps, _ := loadColocated(t, b, w, env...)
			if ps.HasErrors() {
				t.Fatalf("problems: %q", ps)
			}
			if cfg.PulsarServiceUrl != tt.service || cfg.PulsarWebServiceUrl != tt.web || cfg.WorkerId != tt.id || cfg.WorkerHostname != tt.hostnameS {
				t.Errorf("service %s web %s id %s host %s", cfg.PulsarServiceUrl, cfg.PulsarWebServiceUrl, cfg.WorkerId, cfg.WorkerHostname)
			}
		})
	}
}

// TestColocatedProblems: a problem caused by a broker.conf value names
// broker.conf's line and key (and the worker key it became).
func TestColocatedProblems(t *testing.T) {
	tests := []struct {
		name, conf, want string
	}{
		{"no cluster name", "advertisedAddress=h\n", "error: BROKER: clusterName: required: the broker's cluster name is the worker's pulsarFunctionsCluster"},
		{"port not a number", "clusterName=c\n\nwebServicePort=80a\n", `error: BROKER:3: webServicePort: expected a port number, got "80a" (the broker refuses to start with it too)`},
		{"not a boolean", "clusterName=c\nauthenticationEnabled=yes\n", `warning: BROKER:2: authenticationEnabled: "yes" is not true or false; the broker reads it as false, and so does this worker`},
		{"worker key rule, broker value", "clusterName=c\nadvertisedAddress=::1\n", `error: BROKER:2: advertisedAddress (workerHostname): must not contain ':'`},
		{"the broker runs a Java worker too", "clusterName=c\nadvertisedAddress=h\nfunctionsWorkerEnabled=true\n", "warning: BROKER:3: functionsWorkerEnabled: is true: the broker runs its own Java functions worker too"},
		{"no broker port at all", "clusterName=c\nadvertisedAddress=h\nbrokerServicePort=\n", "error: BROKER:3: brokerServicePort: the broker has neither brokerServicePort nor brokerServicePortTls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, w := writeBroker(t, tt.conf)
			_, ps, _ := loadColocated(t, b, w)
			var got []string
			for _, p := range ps {
				got = append(got, strings.ReplaceAll(p.Severity.String()+": "+p.String(), b, "BROKER"))
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, tt.want) }) {
				t.Errorf("problems %q lack %q", got, tt.want)
			}
		})
	}
}

func TestColocatedFiles(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "broker.conf")
	if err := os.WriteFile(b, []byte("clusterName=c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := LoadColocated(context.Background(), b, WorkerConfBesideBroker(b), nil)
	if err == nil || !strings.Contains(err.Error(), "pass --config FILE") {
		t.Errorf("no worker file: %v", err)
	}
	if err := os.WriteFile(b, []byte("clusterName=\\u00zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = LoadColocated(context.Background(), b, fixtureWorker, nil)
	if err == nil || !strings.Contains(err.Error(), b+":1: clusterName: malformed") {
		t.Errorf("bad escape: %v", err)
	}
}
