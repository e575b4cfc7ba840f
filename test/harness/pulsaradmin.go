package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PulsarAdmin runs the distribution's bin/pulsar-admin against adminURL and
// returns its combined output; err is set when it exits non-zero.
func (p Pulsar) PulsarAdmin(t testing.TB, adminURL string, args ...string) (string, error) {
	t.Helper()
	return p.PulsarAdminEnv(t, nil, adminURL, args...)
}

// PulsarAdminEnv is PulsarAdmin with extra environment variables (such as
// PULSAR_EXTRA_OPTS for JVM system properties).
func (p Pulsar) PulsarAdminEnv(t testing.TB, env []string, adminURL string, args ...string) (string, error) {
	t.Helper()
	if p.Home == "" {
		unavailable(t, "PULSAR_HOME is unset: the distribution's bin/pulsar-admin is needed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.Home, "bin", "pulsar-admin"), append([]string{"--admin-url", adminURL}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("pulsar-admin %s (%s)", strings.Join(args, " "), firstLine(string(out)))
	return string(out), err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
