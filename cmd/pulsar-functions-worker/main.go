// Command pulsar-functions-worker runs an Apache Pulsar Functions Worker.
//
// Usage:
//
//	pulsar-functions-worker run --config /etc/pulsar/functions_worker.yml
//	pulsar-functions-worker check-config --config FILE
//	pulsar-functions-worker version
//
// Exit codes: 0 success (check-config: no errors, warnings allowed); 1 the
// worker failed or the config has errors; 2 bad usage or unreadable config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/daemon"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/version"
)

const defaultConfig = "/etc/pulsar/functions_worker.yml"

const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "instance-exec":
		// Internal: the trampoline the scope launcher runs inside a new scope.
		return cmdInstanceExec(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "pulsar-functions-worker %s (Apache Pulsar %s compatible)\n", version.Version, version.PulsarVersion)
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: pulsar-functions-worker <command> [flags]

commands:
  run           run the worker in the foreground (SIGTERM/SIGINT stop it cleanly)
  check-config  validate a functions_worker.yml and print every problem
  version       print the version

flags of run and check-config:
  --config FILE   worker config (default `+defaultConfig+`)
`)
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", defaultConfig, "worker config file (functions_worker.yml)")
	fs.StringVar(path, "c", defaultConfig, "shorthand for --config")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return "", false
	}
	return *path, true
}

// loadConfig prints every problem to w; ok is false when the config must not be used.
func loadConfig(path string, w io.Writer) (cfg *config.Config, code int) {
	cfg, problems, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(w, "%v\n", err)
		return nil, exitUsage
	}
	for _, p := range problems {
		fmt.Fprintf(w, "%s: %s\n", p.Severity, p)
	}
	if problems.HasErrors() {
		return nil, exitFailed
	}
	if err := daemon.Validate(cfg); err != nil {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return nil, exitFailed
	}
	return cfg, exitOK
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("check-config", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, code := loadConfig(path, stdout)
	if cfg == nil {
		fmt.Fprintf(stdout, "%s: invalid\n", path)
		return code
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return exitOK
}

func cmdRun(args []string, stderr io.Writer) int {
	path, ok := configFlag("run", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, code := loadConfig(path, stderr)
	if cfg == nil {
		return code
	}
	var level slog.LevelVar
	level.Set(cfg.SlogLevel())
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &level}))
	slog.SetDefault(log)

	// Instances run as the same user: keep them from reading or writing the
	// worker's memory through /proc/<pid>/mem (and borrowing its rights).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Warn("prctl PR_SET_DUMPABLE", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("starting pulsar-functions-worker", "version", version.Version, "config", path)
	d := daemon.New(cfg, daemon.Options{ConfigPath: path, Level: &level, Logger: log})
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("worker failed", "err", err)
		return exitFailed
	}
	return exitOK
}

func cmdInstanceExec(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("instance-exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("identifier", "pulsar-function", "journal identifier")
	var fields fieldList
	fs.Var(&fields, "field", "KEY=value journal field for every line (repeatable)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: pulsar-functions-worker instance-exec --identifier NAME [--field KEY=value]... -- COMMAND [ARGS...]")
		return exitUsage
	}
	err := systemd.ExecInstance(*id, fields, fs.Args())
	fmt.Fprintln(stderr, err)
	return 127
}

// fieldList collects repeated --field flags.
type fieldList []string

func (f *fieldList) String() string     { return strings.Join(*f, ",") }
func (f *fieldList) Set(v string) error { *f = append(*f, v); return nil }
