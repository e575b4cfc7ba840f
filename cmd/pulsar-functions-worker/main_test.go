package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"shipped file passes", []string{"check-config", "--config", "../../etc/pulsar/functions_worker.yml"}, 0,
			[]string{"functions_worker.yml: ok"}},
		{"typo warns with a suggestion", []string{"check-config", "--config", "testdata/typo.yml"}, 0,
			[]string{`warning: testdata/typo.yml:3: workerPrt: unknown key "workerPrt"; did you mean "workerPort"?`, "typo.yml: ok"}},
		{"wrong type names line and key", []string{"check-config", "--config", "testdata/wrongtype.yml"}, 1,
			[]string{"error: testdata/wrongtype.yml:4: workerPort: expected an integer", "wrongtype.yml: invalid"}},
		{"unsupported auth plugin", []string{"check-config", "--config", "testdata/sasl.yml"}, 1,
			[]string{`authentication plugin "org.apache.pulsar.client.impl.auth.AuthenticationSasl" is not supported`}},
		{"thread runtime", []string{"check-config", "--config", "testdata/runtime-thread.yml"}, 1,
			[]string{"error: testdata/runtime-thread.yml:16: functionRuntimeFactoryClassName: org.apache.pulsar.functions.runtime.thread.ThreadRuntimeFactory is not supported: the thread runtime runs instances inside the worker's own JVM"}},
		{"kubernetes runtime", []string{"check-config", "--config", "testdata/runtime-kubernetes.yml"}, 1,
			[]string{"error: testdata/runtime-kubernetes.yml:16: functionRuntimeFactoryClassName: org.apache.pulsar.functions.runtime.kubernetes.KubernetesRuntimeFactory is not supported: running instances as Kubernetes pods is Function Mesh's job"}},
		{"custom runtime", []string{"check-config", "--config", "testdata/runtime-custom.yml"}, 1,
			[]string{"error: testdata/runtime-custom.yml:16: functionRuntimeFactoryClassName: com.example.MyRuntimeFactory is not supported"}},
		// run refuses before it listens or dials anything: nothing is started.
		{"run refuses the thread runtime", []string{"run", "--config", "testdata/runtime-thread.yml"}, 1,
			[]string{"functionRuntimeFactoryClassName: org.apache.pulsar.functions.runtime.thread.ThreadRuntimeFactory is not supported"}},
		{"run refuses the kubernetes runtime", []string{"run", "--config", "testdata/runtime-kubernetes.yml"}, 1,
			[]string{"use functionRuntimeFactoryClassName: org.apache.pulsar.functions.runtime.process.ProcessRuntimeFactory"}},
		{"co-located: every value with its origin", []string{"check-config", "--broker-conf", "../../internal/config/testdata/brokerconf/broker.conf"}, 0,
			[]string{`pulsarFunctionsCluster: "prod-east"  # broker.conf:2 clusterName (replaces functions_worker.yml:8)`,
				`workerId: "c-prod-east-fw-broker-1.example.com-6750"  # broker.conf:2 clusterName`,
				`brokerClientAuthenticationParameters: (hidden: 60 characters)`,
				"broker.conf + ../../internal/config/testdata/brokerconf/functions_worker.yml: ok"}},
		{"co-located: no broker.conf", []string{"check-config", "--broker-conf", "testdata/nope.conf"}, 2,
			[]string{"testdata/nope.conf"}},
		{"not YAML", []string{"check-config", "--config", "testdata/notyaml.yml"}, 2,
			[]string{"testdata/notyaml.yml:1:"}},
		{"missing file", []string{"check-config", "--config", "testdata/nope.yml"}, 2,
			[]string{"nope.yml"}},
		{"unknown command", []string{"frobnicate"}, 2, nil},
		{"version", []string{"version"}, 0, []string{"Apache Pulsar 4.0.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, &out, &errOut)
			}
			all := out.String() + errOut.String()
			for _, w := range tt.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}
