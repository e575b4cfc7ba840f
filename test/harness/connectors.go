package harness

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ConnectorsDir runs scripts/fetch-connectors.sh, which downloads (once, into
// the cache) and verifies the built-in connector NARs the tests use, and
// returns the directory holding them. A failed download skips the test
// locally and fails it under CI=true.
func ConnectorsDir(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(t), "scripts", "fetch-connectors.sh"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		Unavailable(t, "scripts/fetch-connectors.sh failed: "+err.Error()+": "+strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out))
}
