package harness

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pulsarAdminJVM are the JVM options bin/pulsar-admin runs with, before any
// the test adds, unless the caller's own PULSAR_EXTRA_OPTS says otherwise:
// the client tool is short-lived, so the C1 compiler alone and the serial
// collector halve the CPU each command costs (about 3.5 s instead of 7 s on
// the 2-core CI machine) and change nothing it does. Without the perf data
// file (-XX:-UsePerfData), two JVMs at once can no longer print a warning
// about /tmp/hsperfdata_* into the output a test compares.
const pulsarAdminJVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData"

// PulsarAdmin runs the distribution's bin/pulsar-admin against adminURL and
// returns its combined output; err is set when it exits non-zero.
func (p Pulsar) PulsarAdmin(t testing.TB, adminURL string, args ...string) (string, error) {
	t.Helper()
	out, _, err := p.pulsarAdmin(t, nil, adminURL, args...)
	return out, err
}

// PulsarAdminEnv is PulsarAdmin with extra environment variables (such as
// PULSAR_EXTRA_OPTS for JVM system properties).
func (p Pulsar) PulsarAdminEnv(t testing.TB, env []string, adminURL string, args ...string) (string, error) {
	t.Helper()
	out, _, err := p.pulsarAdmin(t, env, adminURL, args...)
	return out, err
}

// PulsarAdminExit runs bin/pulsar-admin like PulsarAdmin and returns its
// combined output and exit status. A command that cannot be run at all (or
// runs past its 3-minute deadline) fails the test.
func (p Pulsar) PulsarAdminExit(t testing.TB, adminURL string, args ...string) (string, int) {
	t.Helper()
	out, code, err := p.pulsarAdmin(t, nil, adminURL, args...)
	if err != nil && code < 0 {
		t.Fatalf("pulsar-admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, code
}

func (p Pulsar) pulsarAdmin(t testing.TB, env []string, adminURL string, args ...string) (string, int, error) {
	t.Helper()
	if p.Home == "" {
		Unavailable(t, "PULSAR_HOME is unset: the distribution's bin/pulsar-admin is needed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.Home, "bin", "pulsar-admin"), append([]string{"--admin-url", adminURL}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if os.Getenv("PULSAR_EXTRA_OPTS") == "" {
		extra := pulsarAdminJVM
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PULSAR_EXTRA_OPTS="); ok {
				extra += " " + v
			}
		}
		cmd.Env = append(cmd.Env, "PULSAR_EXTRA_OPTS="+extra)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		var exit *exec.ExitError
		if errors.As(err, &exit) && ctx.Err() == nil {
			code = exit.ExitCode()
		}
	}
	t.Logf("pulsar-admin %s (%s)", strings.Join(args, " "), firstLine(string(out)))
	return string(out), code, err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
