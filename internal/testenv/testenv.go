// Package testenv gives unit tests what they need of the machine: the
// pinned Pulsar distribution, skipped under -short and locally when
// missing, a failure under CI=true.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// PulsarHome is the unpacked Pulsar 4.0.8 distribution ($PULSAR_HOME).
func PulsarHome(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs the Pulsar 4.0.8 distribution")
	}
	home := os.Getenv("PULSAR_HOME")
	if home == "" {
		if strings.EqualFold(os.Getenv("CI"), "true") {
			t.Fatal("PULSAR_HOME is not set (run: eval \"$(scripts/pulsar.sh env)\", or point it at the unpacked 4.0.8 distribution)")
		}
		t.Skip("PULSAR_HOME is not set: the Pulsar 4.0.8 distribution is needed (scripts/pulsar.sh fetch)")
	}
	return home
}
