package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
)

// recordingStopper records the stages shutdown calls, in order.
type recordingStopper struct {
	events   []string
	leaveErr error
	loopsErr error
	drainCtx context.Context
}

func (r *recordingStopper) announceStopping() { r.events = append(r.events, "announce") }
func (r *recordingStopper) leaveCluster() error {
	r.events = append(r.events, "leave")
	return r.leaveErr
}
func (r *recordingStopper) drainHTTP(ctx context.Context) error {
	r.events = append(r.events, "drain")
	r.drainCtx = ctx
	return nil
}
func (r *recordingStopper) stopRuntime() { r.events = append(r.events, "runtime") }
func (r *recordingStopper) stopLoops() error {
	r.events = append(r.events, "loops")
	return r.loopsErr
}
func (r *recordingStopper) closeClients() { r.events = append(r.events, "clients") }

// The worker tells the world it stops before it leaves the cluster, leaves
// before it stops serving, drains HTTP while the runtime still answers, and
// closes the broker clients last; a failing stage does not skip the rest.
func TestShutdownOrder(t *testing.T) {
	want := []string{"announce", "leave", "drain", "runtime", "loops", "clients"}
	loopsErr := errors.New("lead: lost the producer")
	tests := []struct {
		name     string
		leaveErr error
		loopsErr error
		wantErr  error
	}{
		{"clean", nil, nil, nil},
		{"leave fails", errors.New("close consumer: timeout"), nil, nil},
		{"a loop failed", nil, loopsErr, loopsErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := &recordingStopper{leaveErr: tt.leaveErr, loopsErr: tt.loopsErr}
			err := shutdown(r, slog.New(slog.NewTextHandler(&logs, nil)))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("shutdown = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(r.events, want) {
				t.Errorf("stages %v, want %v", r.events, want)
			}
			if dl, ok := r.drainCtx.Deadline(); !ok || time.Until(dl) > shutdownTimeout {
				t.Errorf("drainHTTP's context has deadline %v (%v), want one within %v", dl, ok, shutdownTimeout)
			}
			// Each stage is logged, in order.
			out := logs.String()
			at := 0
			for _, stage := range []string{"announce stopping", "leave cluster", "drain HTTP", "stop runtime", "stop loops", "close broker clients", "shutdown: done"} {
				i := strings.Index(out[at:], stage)
				if i < 0 {
					t.Fatalf("log lacks %q after offset %d:\n%s", stage, at, out)
				}
				at += i
			}
			if tt.leaveErr != nil && !strings.Contains(out, "leave cluster failed") {
				t.Errorf("the failed leave is not logged:\n%s", out)
			}
		})
	}
}

// announceStopping sends STOPPING=1 to systemd and makes /initialized
// answer 503 (Initialized false) before anything else happens.
func TestAnnounceStopping(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	d := &Daemon{notify: systemd.NewNotifier(), log: slog.New(slog.DiscardHandler)}
	d.initialized.Store(true)
	workerStopper{d: d}.announceStopping()

	if d.Initialized() {
		t.Error("Initialized() = true after announceStopping, want false (503 on /initialized)")
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read sd_notify message: %v", err)
	}
	if msg := string(buf[:n]); !slices.Contains(strings.Split(msg, "\n"), "STOPPING=1") {
		t.Errorf("sd_notify message %q lacks STOPPING=1", msg)
	}
}
