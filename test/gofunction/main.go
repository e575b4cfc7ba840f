// Command gofunction is a TEST FIXTURE: a small Go "function" binary that
// follows the contract between a Pulsar Functions worker and a Go function
// built with Pulsar's Go Functions SDK (pulsar-function-go), which our module
// proxy does not carry. It is not product code.
//
// The worker starts it as
//
//	gofunction -instance-conf '<GoInstanceConfig JSON>'
//
// (no quotes in the Process runtime; one pair of surrounding single quotes,
// the Kubernetes form, is stripped), or with -instance-conf-path FILE (YAML
// or JSON, same keys). It consumes the input topics on the function's
// subscription (source.subscriptionName, else "tenant/namespace/name"),
// publishes payload+"!" to the output topic and then acks (at-least-once),
// serves the InstanceControl gRPC service on 127.0.0.1:<port> and Prometheus
// text on :<metricsPort> (if > 0), and exits 0 on SIGTERM/SIGINT.
//
// Test knobs come from the function's userConfig JSON map:
//
//	"suffix": "?"             append this instead of "!"
//	"crashAfterMessages": N   exit(3) right after the N-th message is published and acked
//	"crashAfterSeconds": S    exit(3) S seconds (may be fractional) after start
//	"allocateMiB": M          allocate and touch M MiB at start and hold it (OOM tests)
//	"failPayload": "x"        a message with exactly this payload is a user exception
//	                          (counted, acked, nothing published)
//	"processDelayMs": D       sleep D ms inside the function per message
//
// Numbers may also be given as strings ("5"). Exit codes: 0 on a signal,
// idle timeout or missed health checks; 1 on Pulsar or listener failures
// (the SDK's log.Fatal); 2 on a bad command line or conf (the SDK panics,
// which also exits 2); 3 for the crash knobs.
package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const (
	exitOK     = 0
	exitFatal  = 1
	exitConfig = 2
	exitCrash  = 3
)

var startTime = time.Now()

// heldMemory keeps the allocateMiB allocation reachable for the process's life.
//
//lint:ignore U1000 written and never read on purpose: a global keeps the allocation alive
var heldMemory []byte

func main() {
	os.Exit(realMain(os.Args[1:], os.Stderr))
}

func realMain(args []string, stderr io.Writer) int {
	// From the start, so a SIGTERM during allocateMiB or broker setup still
	// ends in a clean exit 0 instead of death by signal.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(logger)

	conf, unknown, source, err := LoadConf(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		logger.Error("gofunction: bad instance config", "err", err)
		return exitConfig
	}
	if len(unknown) > 0 {
		logger.Warn("gofunction: instance config has keys the Go SDK does not know (ignored)", "keys", unknown)
	}
	settings, err := NewSettings(conf)
	if err != nil {
		logger.Error("gofunction: unusable instance config", "err", err)
		return exitConfig
	}
	for _, m := range settings.Mismatches {
		logger.Warn("gofunction: flat key disagrees with functionDetails (functionDetails wins)", "mismatch", m)
	}
	if settings.UserConfigErr != nil {
		logger.Warn("gofunction: userConfig problem", "err", settings.UserConfigErr)
	}
	d := settings.Details
	authPlugin, _ := settings.AuthPlugin()
	logger.Info("gofunction: starting",
		"fqfn", settings.FQFN(),
		"instanceID", conf.InstanceID,
		"funcID", conf.FuncID,
		"funcVersion", conf.FuncVersion,
		"cluster", conf.ClusterName,
		"pulsarServiceURL", conf.PulsarServiceURL,
		"inputs", strings.Join(settings.Inputs(), ","),
		"output", d.GetSink().GetTopic(),
		"subscription", settings.SubscriptionName(),
		"subscriptionType", d.GetSource().GetSubscriptionType().String(),
		"subscriptionPosition", d.GetSource().GetSubscriptionPosition().String(),
		"processingGuarantees", d.GetProcessingGuarantees().String(),
		//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
		"autoAck", d.GetAutoAck(),
		"logTopic", d.GetLogTopic(),
		"port", conf.Port,
		"metricsPort", conf.MetricsPort,
		"expectedHealthCheckInterval", conf.ExpectedHealthCheckInterval,
		"killAfterIdleMs", conf.KillAfterIdleMs,
		"authPlugin", authPlugin,
		"detailsFrom", map[bool]string{true: "functionDetails", false: "flat keys"}[settings.DetailsFromKey],
		"userConfig", d.GetUserConfig(),
		"confFrom", source,
		"pid", os.Getpid(),
	)

	u := settings.User
	if u.AllocateMiB > 0 {
		heldMemory = allocate(u.AllocateMiB)
		logger.Info("gofunction: allocated and touched memory", "MiB", u.AllocateMiB)
	}
	if u.CrashAfterSeconds > 0 {
		d := time.Duration(u.CrashAfterSeconds*float64(time.Second)) - time.Since(startTime)
		time.AfterFunc(max(d, 0), func() {
			logger.Error("gofunction: crashAfterSeconds reached, exiting 3", "seconds", u.CrashAfterSeconds)
			os.Exit(exitCrash)
		})
	}

	return newInstance(settings, logger).run(sigs)
}

func logLevel() slog.Level {
	switch strings.ToLower(os.Getenv("LOGGING_LEVEL")) { // the SDK's variable
	case "debug", "trace":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "fatal", "panic":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// allocate returns mib MiB with every page written, so it is resident.
func allocate(mib int64) []byte {
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = byte(i>>12) | 1
	}
	return b
}
