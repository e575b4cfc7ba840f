package fault

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// standalone is this package's own Pulsar standalone (RocksDB metadata, no
// stream storage: the broker experiments need neither function state nor a
// Java worker), run through scripts/pulsar.sh with its own ports and state
// directory, so that restarting it disturbs nobody else's tests.
type standalone struct {
	once     sync.Once
	ready    chan struct{}
	err      error
	env      []string
	stateDir string
	broker   int
	web      int
	started  bool
}

var ownStandalone = &standalone{ready: make(chan struct{})}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startInBackground starts `scripts/pulsar.sh up` for the package's own
// standalone; get waits for it.
func (s *standalone) startInBackground() {
	s.once.Do(func() {
		s.started = true
		go func() {
			defer close(s.ready)
			s.err = s.setup()
			if s.err == nil {
				s.err = s.pulsarSh("up", false)
			}
		}()
	})
}

func (s *standalone) setup() error {
	stopAbandoned()
	dir, err := os.MkdirTemp("", "pfw-fault-pulsar-")
	if err != nil {
		return fmt.Errorf("state dir of the fault suite's standalone: %w", err)
	}
	s.stateDir = dir
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("state dir of the fault suite's standalone: %w", err)
	}
	ports := map[string]int{}
	// Every port: the defaults are the shared standalone's.
	for _, name := range []string{"BROKER", "WEB", "BROKER_TLS", "WEB_TLS", "ZK", "STREAM", "BOOKIE"} {
		p, err := freePort()
		if err != nil {
			return fmt.Errorf("free port for the fault suite's standalone: %w", err)
		}
		ports[name] = p
	}
	s.broker, s.web = ports["BROKER"], ports["WEB"]
	s.env = []string{
		"PFW_PULSAR_STATE_DIR=" + dir,
		"PFW_PULSAR_STREAM_STORAGE=0",  // scripts/test.sh exports 1 for the shared one
		"PFW_PULSAR_START_TIMEOUT=420", // a loaded 2-core machine has taken 5 minutes
		"PFW_PULSAR_STOP_TIMEOUT=10",   // the restart is the fault: no need for a long goodbye
	}
	for name, p := range ports {
		s.env = append(s.env, "PFW_PULSAR_"+name+"_PORT="+strconv.Itoa(p))
	}
	return nil
}

// ownerFile holds the pid of the test process that started a standalone.
const ownerFile = "fault-suite.pid"

// stopAbandoned stops the standalones of earlier runs whose test process is
// gone without stopping them (go test's -timeout panics past TestMain's
// cleanup), and deletes their state directories. Those of runs still going
// are left alone.
func stopAbandoned() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pfw-fault-pulsar-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		old := &standalone{stateDir: dir, env: []string{"PFW_PULSAR_STATE_DIR=" + dir}}
		if err := old.pulsarSh("clean", false); err != nil {
			fmt.Fprintf(os.Stderr, "fault: stop an abandoned standalone: %v\n", err)
		}
	}
}

// pulsarSh runs scripts/pulsar.sh cmd for this standalone; keepData makes an
// `up` reuse the data of the previous run (a restart, not a new broker).
func (s *standalone) pulsarSh(cmd string, keepData bool) error {
	c := exec.Command(filepath.Join(repoRoot(), "scripts", "pulsar.sh"), cmd)
	c.Env = append(os.Environ(), s.env...)
	c.Env = append(c.Env, "PFW_PULSAR_KEEP_DATA="+map[bool]string{true: "1", false: "0"}[keepData])
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("scripts/pulsar.sh %s (state %s): %v\n%s", cmd, s.stateDir, err, out.String())
	}
	return nil
}

// get waits for the standalone and returns it; without one the test is
// skipped locally and fails under CI=true.
func (s *standalone) get(t *testing.T) harness.Pulsar {
	t.Helper()
	p := harness.RequirePulsar(t) // -short and a missing shared standalone skip the same way
	if !s.started {
		t.Fatal("the fault suite's own standalone was not started (TestMain decides by -run)")
	}
	select {
	case <-s.ready:
	case <-time.After(8 * time.Minute):
		t.Fatal("the fault suite's own standalone did not start within 8 minutes")
	}
	if s.err != nil {
		harness.Unavailable(t, s.err.Error())
	}
	return harness.Pulsar{
		Home:          p.Home,
		ServiceURL:    "pulsar://127.0.0.1:" + strconv.Itoa(s.broker),
		WebServiceURL: "http://127.0.0.1:" + strconv.Itoa(s.web),
	}
}

// pid is the standalone JVM's pid (also its process group: pulsar.sh starts
// it with setsid).
func (s *standalone) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.stateDir, "standalone.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// signal sends sig to the standalone's process group.
func (s *standalone) signal(sig syscall.Signal) error {
	pid, err := s.pid()
	if err != nil {
		return err
	}
	return syscall.Kill(-pid, sig)
}

// restart stops the standalone (SIGTERM, as scripts/pulsar.sh down does)
// and starts it again on the same data and ports.
func (s *standalone) restart() error {
	if err := s.pulsarSh("down", false); err != nil {
		return err
	}
	return s.pulsarSh("up", true)
}

// stop stops the standalone and deletes its state directory.
func (s *standalone) stop() {
	if !s.started {
		return
	}
	<-s.ready
	if s.stateDir == "" {
		return
	}
	_ = s.signal(syscall.SIGCONT) // in case a failed test left it frozen
	if err := s.pulsarSh("clean", false); err != nil {
		fmt.Fprintf(os.Stderr, "fault: stop the suite's own standalone: %v\n", err)
	}
}
