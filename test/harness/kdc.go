package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// KDC is a throw-away MIT Kerberos KDC started by scripts/kdc.sh.
type KDC struct {
	// Dir holds its database, keytabs and krb5.conf.
	Dir string
	// Realm is its realm.
	Realm string
	// Krb5Conf is the krb5.conf that points at it (KRB5_CONFIG, or Java's
	// -Djava.security.krb5.conf).
	Krb5Conf string
}

// StartKDC runs `scripts/kdc.sh up` with the principals (each gets a keytab)
// on a free port, installing Debian's KDC packages when they are missing,
// and stops the KDC when the test ends. A KDC that cannot start skips the
// test locally and fails it under CI=true, with the script's reason.
func StartKDC(t testing.TB, principals ...string) KDC {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		Unavailable(t, "no KDC: bash is not on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(RepoRoot(t), "scripts", "kdc.sh")
	env := append(os.Environ(), "PFW_KDC_DIR="+dir, "PFW_KDC_PORT="+strconv.Itoa(FreePort(t)))
	start := time.Now()
	cmd := exec.Command(script, append([]string{"up"}, principals...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("scripts/kdc.sh up: %s (%s)", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	if err != nil {
		Unavailable(t, "no KDC: scripts/kdc.sh up failed: "+err.Error()+": "+strings.TrimSpace(stderr.String()))
	}
	t.Cleanup(func() {
		down := exec.Command(script, "down")
		down.Env = env
		if b, err := down.CombinedOutput(); err != nil {
			t.Logf("scripts/kdc.sh down: %v: %s", err, b)
		}
	})
	k := KDC{Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf")}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "export PFW_KDC_REALM="); ok {
			k.Realm = v
		}
	}
	if k.Realm == "" {
		t.Fatalf("scripts/kdc.sh up printed no realm: %q", out)
	}
	return k
}

// Keytab is the keytab file of principal (given without its realm).
func (k KDC) Keytab(principal string) string {
	return filepath.Join(k.Dir, "keytabs", strings.ReplaceAll(principal, "/", "_")+".keytab")
}
