package daemon

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
)

// progress records when each of the worker's loops last went round, so the
// watchdog is only petted while they all do.
type progress struct {
	mu     sync.Mutex
	last   map[string]time.Time
	maxAge map[string]time.Duration
}

func newProgress() *progress {
	return &progress{last: map[string]time.Time{}, maxAge: map[string]time.Duration{}}
}

// register starts tracking loop name, which must beat at least every maxAge.
func (p *progress) register(name string, maxAge time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[name], p.maxAge[name] = time.Now(), maxAge
}

// unregister stops tracking a loop that ended on purpose.
func (p *progress) unregister(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, name)
	delete(p.maxAge, name)
}

func (p *progress) beat(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.last[name]; ok {
		p.last[name] = time.Now()
	}
}

// stalled lists the loops that missed their deadline.
func (p *progress) stalled(now time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for name, t := range p.last {
		if age := now.Sub(t); age > p.maxAge[name] {
			out = append(out, fmt.Sprintf("%s (%s)", name, age.Round(time.Second)))
		}
	}
	sort.Strings(out)
	return out
}

// watchdog pets systemd's watchdog at half its interval while every loop
// makes progress; when one stalls it stops petting, so systemd restarts the
// worker (the instances, in their own scopes, keep running).
func (d *Daemon) watchdog(ctx context.Context) error {
	interval := systemd.WatchdogInterval()
	if interval <= 0 {
		return nil
	}
	d.log.Info("watchdog enabled", "ping_every", interval)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if stalled := d.progress.stalled(time.Now()); len(stalled) > 0 {
			d.log.Error("worker loops stalled; not petting the watchdog", "loops", strings.Join(stalled, ", "))
			continue
		}
		if err := d.notify.Watchdog(); err != nil {
			d.log.Warn("watchdog", "err", err)
		}
	}
}

// statusLine is what `systemctl status` shows: role, cluster, instances and
// the last reload's outcome.
func (d *Daemon) statusLine() string {
	if !d.Initialized() {
		return "starting"
	}
	role := "member"
	if d.IsLeader() {
		role = "leader"
	}
	s := fmt.Sprintf("%s of the cluster in %s (%d workers)", role, d.cfg.PulsarFunctionsNamespace, d.memberCount.Load())
	if c := d.instanceCounts; c != nil {
		running, failed := c()
		s += fmt.Sprintf("; instances: %d running, %d failed", running, failed)
	}
	if e := d.lastReloadError.Load(); e != nil && *e != "" {
		s += "; last config reload failed: " + *e
	}
	var pending []string
	d.pendingRestart.Range(func(k, _ any) bool { pending = append(pending, k.(string)); return true })
	if len(pending) > 0 {
		sort.Strings(pending)
		s += "; restart to apply: " + strings.Join(pending, ", ")
	}
	return s
}

// debugStall blocks the calling loop forever once SIGUSR2 arrives, when
// PFW_DEBUG_HOOKS=1: a way for tests to simulate a hung worker and see the
// watchdog restart it. Off by default.
func (d *Daemon) debugStall(ctx context.Context, loop string) func() {
	if os.Getenv("PFW_DEBUG_HOOKS") != "1" {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	return func() {
		select {
		case <-ch:
			d.log.Warn("debug hook: stalling loop on SIGUSR2", "loop", loop)
			<-ctx.Done()
		default:
		}
	}
}
