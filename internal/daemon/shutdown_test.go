package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/run"
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

// The worker's own stopper, run by shutdown: when it leaves the cluster,
// systemd has already been told STOPPING=1 and /initialized answers 503; the
// runtime is stopped only after the HTTP drain, and every actor has stopped
// when shutdown returns.
func TestWorkerStopperOrder(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	// notified returns the sd_notify messages received so far.
	var msgs []string
	notified := func() []string {
		buf := make([]byte, 4096)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := conn.Read(buf)
			if err != nil {
				return msgs
			}
			msgs = append(msgs, strings.Split(string(buf[:n]), "\n")...)
		}
	}

	log := slog.New(slog.DiscardHandler)
	d := &Daemon{notify: systemd.NewNotifier(), log: log}
	d.initialized.Store(true)
	srv := httptest.NewServer(api.New(d, nil, prometheus.NewRegistry(), log))
	defer srv.Close()
	initialized := func() int {
		resp, err := http.Get(srv.URL + "/initialized")
		if err != nil {
			t.Fatalf("GET /initialized: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := initialized(); code/100 != 2 {
		t.Fatalf("/initialized = %d before the shutdown, want 2xx", code)
	}

	var events []string
	g := run.New(log)
	g.Add(actorJoin, func(ctx context.Context) error { <-ctx.Done(); events = append(events, "join stopped"); return nil }, nil)
	g.Add(actorRuntime, func(ctx context.Context) error { <-ctx.Done(); events = append(events, "runtime stopped"); return nil }, nil)
	g.Add("membership", func(ctx context.Context) error { <-ctx.Done(); events = append(events, "loops stopped"); return nil }, nil)
	g.Start(context.Background())
	leave := func() error {
		if !slices.Contains(notified(), "STOPPING=1") {
			t.Error("left the cluster before STOPPING=1 was sent")
		}
		if code := initialized(); code != http.StatusServiceUnavailable {
			t.Errorf("/initialized = %d when leaving the cluster, want 503", code)
		}
		events = append(events, "left")
		return nil
	}
	if err := shutdown(workerStopper{d: d, group: g, leave: leave}, log); err != nil {
		t.Fatalf("shutdown = %v", err)
	}
	want := []string{"join stopped", "left", "runtime stopped", "loops stopped"}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
}
