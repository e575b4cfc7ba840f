// Package depstest pins what the layers may link, as `go list -deps` sees
// it: a package that starts to pull in the wrong layer fails here, in the
// change that does it, not in a review a year later.
package depstest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pulsar-functions-worker/pulsar-functions-worker/"

// rule is one package's limits: no linked package may start with one of
// forbidden.
type rule struct {
	pkg       string
	forbidden []string
	why       string
}

var (
	// processes and the cluster: what runs things and talks to Pulsar.
	runtimeLayers = []string{
		module + "internal/runtime", module + "internal/daemon", module + "internal/scheduler",
		module + "internal/metadata", module + "internal/state", module + "internal/systemd",
		module + "internal/broker",
	}
	// starting processes.
	processes = []string{"os/exec"}
	// the Pulsar client and what it drags in (AthenZ -> client-go).
	clientLibraries = []string{"k8s.io/", "sigs.k8s.io/", "github.com/apache/pulsar-client-go/"}
	// serving HTTP.
	httpLayer = []string{module + "internal/api", module + "internal/auth", module + "internal/cluster"}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var rules = []rule{
	{"internal/functionconfig", concat(runtimeLayers, processes, clientLibraries, httpLayer),
		"the config model is pure: validation and conversion, testable and fuzzable without a cluster"},
	{"internal/jackson", concat(runtimeLayers, processes, clientLibraries, httpLayer, []string{module + "internal/"}),
		"a JSON dialect: the standard library only"},
	{"internal/javaclass", concat(runtimeLayers, processes, clientLibraries, httpLayer, []string{module + "internal/"}),
		"a class-file reader: the standard library and a YAML parser only"},
	// api still links k8s.io and os/exec through internal/cluster ->
	// pulsar-client-go (AthenZ); cutting that is the service-layer split of
	// issue 13 item 2. What it must not gain is a direct hold on processes
	// and metadata.
	{"internal/api", runtimeLayers,
		"api serves HTTP over interfaces; processes and metadata are the service layer's, wired by daemon"},
}

func TestLayersLinkOnlyWhatTheyMay(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+r.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", r.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == module+r.pkg {
					continue
				}
				for _, f := range r.forbidden {
					if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) ||
						(!strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f+"/")) {
						t.Errorf("%s links %s (forbidden: %s): %s", r.pkg, dep, f, r.why)
					}
				}
			}
		})
	}
}
