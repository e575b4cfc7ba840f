package systemd

import (
	"slices"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

func TestUnitName(t *testing.T) {
	tests := []struct {
		spec runtime.ProcessSpec
		want string
	}{
		{runtime.ProcessSpec{Tenant: "public", Namespace: "default", Function: "excl", InstanceID: 2}, "pulsar-fn-public-default-excl-2.scope"},
		{runtime.ProcessSpec{Tenant: "a b", Namespace: "n", Function: "f.x", InstanceID: 0}, `pulsar-fn-a\x20b-n-f.x-0.scope`},
		{runtime.ProcessSpec{Name: "pulsar-fn-given"}, "pulsar-fn-given.scope"},
	}
	for _, tt := range tests {
		if got := UnitName(tt.spec); got != tt.want {
			t.Errorf("UnitName(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestInstanceEnvDropsTheWorkersSystemdVariables(t *testing.T) {
	got := instanceEnv([]string{"PATH=/bin", "NOTIFY_SOCKET=/run/x", "WATCHDOG_USEC=1", "JOURNAL_STREAM=1:2", "A=b"})
	if want := []string{"PATH=/bin", "A=b"}; !slices.Equal(got, want) {
		t.Fatalf("instanceEnv = %v, want %v", got, want)
	}
}
