package daemon

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// syncBuffer is a log destination shared by the worker's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEmbeddedWorker runs a whole worker inside the test binary against the
// standalone (so under -race when the suite is): it becomes ready and leads
// its own cluster, reports that on STATUS=, applies a config edit live, and
// stops in order when closed: STOPPING=1 and /initialized 503 before it
// leaves the cluster.
func TestEmbeddedWorker(t *testing.T) {
	p := harness.RequirePulsar(t)
	id := harness.UniqueName("ops-embed")
	port := harness.FreePort(t)
	path := harness.WorkerConfig(t, p, id, port, map[string]any{
		// A cluster of its own: nobody else's workers, nobody else's functions.
		"pulsarFunctionsNamespace": "public/" + id,
		"logLevel":                 "info",
	})
	cfg, problems, err := config.Load(path)
	if err != nil || problems.HasErrors() {
		t.Fatalf("load %s: %v %v", path, err, problems)
	}

	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	var notes struct {
		mu   sync.Mutex
		msgs []string
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			notes.mu.Lock()
			notes.msgs = append(notes.msgs, string(buf[:n]))
			notes.mu.Unlock()
		}
	}()
	notified := func(prefix string) []string {
		notes.mu.Lock()
		defer notes.mu.Unlock()
		var out []string
		for _, m := range notes.msgs {
			for _, line := range strings.Split(m, "\n") {
				if strings.HasPrefix(line, prefix) {
					out = append(out, line)
				}
			}
		}
		return out
	}

	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	h := Start(cfg, Options{ConfigPath: path, Level: level,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))})
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = h.Close()
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", logs.String())
		}
	})
	select {
	case <-h.Ready():
	case <-h.Done():
		t.Fatalf("the worker stopped before it was ready: %v", h.Err())
	case <-time.After(3 * time.Minute):
		t.Fatal("the worker is not ready after 3 minutes")
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/initialized"); code/100 != 2 {
		t.Errorf("/initialized = %d once ready", code)
	}
	if !slices.Contains(notified("READY="), "READY=1") {
		t.Errorf("no READY=1 once ready; sd_notify lines: %v", notified(""))
	}
	harness.Eventually(t, 2*time.Minute, "the worker leads its own cluster", func() error {
		if code, body := get("/admin/v2/worker/cluster/leader"); code != 200 || !strings.Contains(body, id) {
			return fmt.Errorf("leader: %d %s", code, body)
		}
		if s := h.d.statusLine(); !strings.HasPrefix(s, "leader of the cluster") {
			return fmt.Errorf("status line %q", s)
		}
		return nil
	})

	// A live key edited in the file is applied in place.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "logLevel: info", "logLevel: debug", 1)
	if edited == string(b) {
		t.Fatalf("no logLevel: info line in %s", path)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, "logLevel debug applied", func() error {
		if level.Level() != slog.LevelDebug {
			return fmt.Errorf("level %v", level.Level())
		}
		return nil
	})

	// Close stops in order; the stages are logged.
	closed = true
	if err := h.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	out := logs.String()
	announce, leave := strings.Index(out, "shutdown: announce stopping"), strings.Index(out, "shutdown: leave cluster")
	if announce < 0 || leave < 0 || announce > leave {
		t.Errorf("announce stopping at %d, leave cluster at %d in the log: want both, announce first", announce, leave)
	}
	harness.Eventually(t, 10*time.Second, "STOPPING=1 sent", func() error {
		if !slices.Contains(notified("STOPPING="), "STOPPING=1") {
			return fmt.Errorf("sd_notify lines: %v", notified(""))
		}
		return nil
	})
	for _, actor := range []string{"join", "runtime", "membership", "leadership", "watchdog", "config watch", "instance feed", "fatal errors"} {
		if !strings.Contains(out, `msg="actor stopped" component=lifecycle actor="`+actor+`"`) &&
			!strings.Contains(out, `msg="actor stopped" component=lifecycle actor=`+actor+` `) {
			t.Errorf("the log does not say actor %q stopped", actor)
		}
	}
}
