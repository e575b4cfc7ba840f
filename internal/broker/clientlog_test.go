package broker

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
)

// What pulsar-client-go logs, through its own Logger interface, comes out of
// the worker's handler at the worker's levels: INFO demoted to DEBUG, DEBUG
// dropped, WARN and ERROR kept.
func TestClientLoggerLevels(t *testing.T) {
	tests := []struct {
		name        string
		workerLevel slog.Level
		log         func(pulsarlog.Logger)
		want        string // the level= of the one line expected; "" for none
	}{
		{"info hidden at worker info", slog.LevelInfo, func(l pulsarlog.Logger) { l.Info("Connected producer") }, ""},
		{"infof hidden at worker info", slog.LevelInfo, func(l pulsarlog.Logger) { l.Infof("Closing consumer=%d", 1) }, ""},
		{"info from an entry hidden at worker info", slog.LevelInfo, func(l pulsarlog.Logger) {
			l.SubLogger(pulsarlog.Fields{"topic": "t"}).WithField("x", 1).Info("Connected producer")
		}, ""},
		{"info is debug at worker debug", slog.LevelDebug, func(l pulsarlog.Logger) { l.Info("Connected producer") }, "DEBUG"},
		{"infof is debug at worker debug", slog.LevelDebug, func(l pulsarlog.Logger) { l.Infof("Closing consumer=%d", 1) }, "DEBUG"},
		{"debug dropped even at worker debug", slog.LevelDebug, func(l pulsarlog.Logger) { l.Debug("Got command! type:PING") }, ""},
		{"warn kept at worker info", slog.LevelInfo, func(l pulsarlog.Logger) { l.Warn("Connection closed") }, "WARN"},
		{"warnf kept at worker warn", slog.LevelWarn, func(l pulsarlog.Logger) { l.Warnf("Failed to reconnect %s", "p") }, "WARN"},
		{"error kept at worker info", slog.LevelInfo, func(l pulsarlog.Logger) {
			l.WithError(errors.New("boom")).Error("Failed to create producer")
		}, "ERROR"},
		{"errorf kept at worker error", slog.LevelError, func(l pulsarlog.Logger) { l.Errorf("Failed %d", 2) }, "ERROR"},
		{"all filtered hidden at worker info", slog.LevelInfo, func(l pulsarlog.Logger) { l.Warnf("receive %d messages , all filtered", 1) }, ""},
		{"all filtered is debug at worker debug", slog.LevelDebug, func(l pulsarlog.Logger) { l.Warnf("receive %d messages , all filtered", 1) }, "DEBUG"},
		{"warn hidden at worker error", slog.LevelError, func(l pulsarlog.Logger) { l.Warn("Connection closed") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			worker := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.workerLevel}))
			tt.log(clientLogger(worker))
			out := strings.TrimSpace(buf.String())
			if tt.want == "" {
				if out != "" {
					t.Fatalf("logged %q, want nothing", out)
				}
				return
			}
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, "level="+tt.want+" ") {
				t.Fatalf("logged %q, want one line at %s", out, tt.want)
			}
			if !strings.Contains(out, "component=pulsar-client") {
				t.Errorf("logged %q without component=pulsar-client", out)
			}
		})
	}
}
