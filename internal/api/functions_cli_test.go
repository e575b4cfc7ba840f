package api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/testenv"
)

// TestPulsarAdminFunctions drives the API with the real pulsar-admin of the
// Pulsar 4.0.8 distribution ($PULSAR_HOME) against an in-memory backend:
// create (Java, Python, Go), get, list, status, update and delete, checking
// what the backend received and what the CLI printed. Each call starts a
// JVM, so this takes a while; it is skipped without PULSAR_HOME (and fails
// under CI=true).
func TestPulsarAdminFunctions(t *testing.T) {
	home := testenv.PulsarHome(t)
	admin := filepath.Join(home, "bin", "pulsar-admin")
	if _, err := os.Stat(admin); err != nil {
		t.Fatalf("PULSAR_HOME=%s has no bin/pulsar-admin: %v", home, err)
	}
	f := newFakeFunctions()
	f.owners["public/default/ex:0"] = f.self
	f.local["public/default/ex:0"] = &pb.FunctionStatus{Running: true, NumReceived: 3, NumSuccessfullyProcessed: 3, AverageLatency: 0.5}
	srv := httptest.NewServer(newFunctionsServer(leaderWorker, nil, f))
	defer srv.Close()

	run := func(t *testing.T, wantOK bool, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, admin, append([]string{"--admin-url", srv.URL}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// A short-lived client: the C1 compiler alone and the serial collector
		// halve each call's CPU (as test/harness runs pulsar-admin).
		cmd.Env = append(os.Environ(), "PULSAR_EXTRA_OPTS=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -XX:-UsePerfData")
		err := cmd.Run()
		if (err == nil) != wantOK {
			t.Fatalf("pulsar-admin %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	submittedGolden := func(t *testing.T, name string) {
		t.Helper()
		sub := f.lastSubmitted(t)
		golden(t, "functions/"+name, "delete: "+map[bool]string{true: "true", false: "false"}[sub.delete]+"\n"+mdJSON(t, sub.md))
	}
	expect := func(t *testing.T, out, want string) {
		t.Helper()
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	fn := []string{"--tenant", "public", "--namespace", "default"}
	goBinary := filepath.Join(t.TempDir(), "gofn")
	if err := os.WriteFile(goBinary, []byte("not really a Go binary"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("create java", func(t *testing.T) {
		out := run(t, true, append([]string{"functions", "create", "--jar", filepath.Join(home, "examples", "api-examples.jar"),
			"--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction", "--name", "ex",
			"--inputs", "in", "--output", "out", "--parallelism", "2"}, fn...)...)
		expect(t, out, "Created successfully")
		submittedGolden(t, "cli_create_java")
	})
	t.Run("create python", func(t *testing.T) {
		out := run(t, true, append([]string{"functions", "create", "--py", filepath.Join(home, "examples", "python-examples", "exclamation_function.py"),
			"--classname", "exclamation_function.ExclamationFunction", "--name", "pyex", "--inputs", "in2", "--output", "out2"}, fn...)...)
		expect(t, out, "Created successfully")
		submittedGolden(t, "cli_create_python")
	})
	t.Run("create go", func(t *testing.T) {
		out := run(t, true, append([]string{"functions", "create", "--go", goBinary, "--name", "goex", "--inputs", "in3"}, fn...)...)
		expect(t, out, "Created successfully")
		submittedGolden(t, "cli_create_go")
		if got := f.uploads["public/default/goex/v0-gofn"]; string(got) != "not really a Go binary" {
			t.Errorf("stored Go package %q", got)
		}
	})
	t.Run("create existing", func(t *testing.T) {
		out := run(t, false, append([]string{"functions", "create", "--go", goBinary, "--name", "goex", "--inputs", "in3"}, fn...)...)
		expect(t, out, "Function goex already exists")
	})
	t.Run("get", func(t *testing.T) {
		golden(t, "functions/cli_get", run(t, true, append([]string{"functions", "get", "--name", "ex"}, fn...)...))
	})
	t.Run("list", func(t *testing.T) {
		golden(t, "functions/cli_list", run(t, true, append([]string{"functions", "list"}, fn...)...))
	})
	t.Run("status", func(t *testing.T) {
		golden(t, "functions/cli_status", run(t, true, append([]string{"functions", "status", "--name", "ex"}, fn...)...))
	})
	t.Run("instance status", func(t *testing.T) {
		golden(t, "functions/cli_instance_status", run(t, true, append([]string{"functions", "status", "--name", "ex", "--instance-id", "0"}, fn...)...))
	})
	t.Run("instance status out of range", func(t *testing.T) {
		out := run(t, false, append([]string{"functions", "status", "--name", "ex", "--instance-id", "7"}, fn...)...)
		expect(t, out, "Function ex doesn't have instance with id 7")
	})
	t.Run("update", func(t *testing.T) {
		out := run(t, true, append([]string{"functions", "update", "--name", "ex", "--parallelism", "3"}, fn...)...)
		expect(t, out, "Updated successfully")
		submittedGolden(t, "cli_update")
	})
	t.Run("delete", func(t *testing.T) {
		out := run(t, true, append([]string{"functions", "delete", "--name", "goex"}, fn...)...)
		expect(t, out, "Deleted successfully")
		submittedGolden(t, "cli_delete")
		if _, ok := f.Function("public", "default", "goex"); ok {
			t.Error("goex still there")
		}
	})
	t.Run("get missing", func(t *testing.T) {
		out := run(t, false, append([]string{"functions", "get", "--name", "goex"}, fn...)...)
		expect(t, out, "Function goex doesn't exist")
	})
}
