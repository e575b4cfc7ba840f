// Package systemd is the worker's side of systemd: readiness, status and
// watchdog notifications (sd_notify), sockets passed by a .socket unit, and
// (in scope.go) transient scopes for function instances over D-Bus. Every
// piece degrades to a no-op outside systemd.
package systemd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages to the service manager. The zero value
// and a Notifier outside systemd do nothing.
type Notifier struct {
	enabled bool
}

// NewNotifier returns a Notifier for $NOTIFY_SOCKET, or a no-op one.
func NewNotifier() *Notifier {
	return &Notifier{enabled: os.Getenv("NOTIFY_SOCKET") != ""}
}

// Enabled tells whether a service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.enabled }

func (n *Notifier) send(lines ...string) error {
	if !n.Enabled() {
		return nil
	}
	if _, err := daemon.SdNotify(false, strings.Join(lines, "\n")); err != nil {
		return fmt.Errorf("sd_notify %q: %w", lines[0], err)
	}
	return nil
}

// Ready says the service is up, with a status line.
func (n *Notifier) Ready(status string) error {
	return n.send(daemon.SdNotifyReady, "STATUS="+oneLine(status))
}

// Status updates the status line `systemctl status` shows.
func (n *Notifier) Status(status string) error { return n.send("STATUS=" + oneLine(status)) }

// Reloading starts a reload; RELOADING=1 and MONOTONIC_USEC must travel in
// one datagram (systemd 253+ checks the timestamp; 252 ignores it). Ready
// ends the reload.
func (n *Notifier) Reloading(status string) error {
	return n.send(daemon.SdNotifyReloading, daemon.SdNotifyMonotonicUsec(), "STATUS="+oneLine(status))
}

// Stopping says the service is shutting down.
func (n *Notifier) Stopping(status string) error {
	return n.send(daemon.SdNotifyStopping, "STATUS="+oneLine(status))
}

// Watchdog pets the watchdog.
func (n *Notifier) Watchdog() error { return n.send(daemon.SdNotifyWatchdog) }

// ExtendTimeout asks for d more time to finish starting (or stopping), so a
// worker that waits for its broker is not killed by TimeoutStartSec.
func (n *Notifier) ExtendTimeout(d time.Duration) error {
	return n.send(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

// WatchdogInterval is how often to pet the watchdog: half of WATCHDOG_USEC,
// or 0 when no watchdog is set for this process.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
