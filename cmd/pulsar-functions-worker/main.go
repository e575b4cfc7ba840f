// Command pulsar-functions-worker runs an Apache Pulsar Functions Worker.
//
// Usage:
//
//	pulsar-functions-worker run --config /etc/pulsar/functions_worker.yml
//	pulsar-functions-worker run --broker-conf /etc/pulsar/broker.conf [--config FILE]
//	pulsar-functions-worker check-config [--broker-conf FILE] --config FILE
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
  --config FILE        worker config (default `+defaultConfig+`; with --broker-conf,
                       the functions_worker.yml beside broker.conf)
  --broker-conf FILE   co-located with a broker: take what the broker-embedded Java
                       worker takes from the broker (cluster, URLs, authentication,
                       authorization, TLS, broker-client credentials) from its broker.conf;
                       check-config then prints every effective value and its origin
`)
}

// files are the config files a command reads.
type files struct {
	config     string // functions_worker.yml
	brokerConf string // broker.conf in co-located mode, else ""
}

func configFlag(name string, args []string, stderr io.Writer) (files, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "worker config file (functions_worker.yml; default "+defaultConfig+")")
	fs.StringVar(path, "c", "", "shorthand for --config")
	broker := fs.String("broker-conf", "", "the broker.conf of the broker this worker runs beside (co-located mode)")
	if err := fs.Parse(args); err != nil {
		return files{}, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return files{}, false
	}
	f := files{config: *path, brokerConf: *broker}
	switch {
	case f.brokerConf != "":
		f.brokerConf, f.config = config.ColocatedPaths(f.brokerConf, f.config)
	case f.config == "":
		f.config = defaultConfig
	}
	return f, true
}

// loadConfig prints every problem to w; ok is false when the config must not be used.
func loadConfig(f files, w io.Writer) (cfg *config.Config, co *config.Colocated, code int) {
	var (
		problems config.Problems
		err      error
	)
	if f.brokerConf != "" {
		cfg, problems, co, err = config.LoadColocated(context.Background(), f.brokerConf, f.config, os.Environ())
	} else {
		cfg, problems, err = config.Load(f.config)
	}
	if err != nil {
		fmt.Fprintf(w, "%v\n", err)
		return nil, nil, exitUsage
	}
	for _, p := range problems {
		fmt.Fprintf(w, "%s: %s\n", p.Severity, p)
	}
	if problems.HasErrors() {
		return nil, co, exitFailed
	}
	if err := daemon.Validate(cfg); err != nil {
		fmt.Fprintf(w, "%s: %v\n", f, err)
		return nil, co, exitFailed
	}
	return cfg, co, exitOK
}

// String names the files in messages.
func (f files) String() string {
	if f.brokerConf == "" {
		return f.config
	}
	return f.brokerConf + " + " + f.config
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	f, ok := configFlag("check-config", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, co, code := loadConfig(f, stdout)
	if cfg == nil {
		fmt.Fprintf(stdout, "%s: invalid\n", f)
		return code
	}
	if co != nil {
		if err := co.WriteReport(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "write report: %v\n", err)
			return exitFailed
		}
	}
	fmt.Fprintf(stdout, "%s: ok\n", f)
	return exitOK
}

func cmdRun(args []string, stderr io.Writer) int {
	f, ok := configFlag("run", args, stderr)
	if !ok {
		return exitUsage
	}
	cfg, _, code := loadConfig(f, stderr)
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
	opts := daemon.Options{ConfigPath: f.config, Level: &level, Logger: log}
	if f.brokerConf != "" {
		// Co-located: reloads read both files again, and edits of either trigger one.
		opts.Load = config.ColocatedLoader(f.brokerConf, f.config)
		opts.WatchPaths = []string{f.brokerConf, f.config}
		log.Info("starting pulsar-functions-worker beside a broker", "version", version.Version, "broker_conf", f.brokerConf, "config", f.config,
			"worker_id", cfg.WorkerId, "cluster", cfg.PulsarFunctionsCluster, "broker", cfg.PulsarServiceUrl)
	} else {
		log.Info("starting pulsar-functions-worker", "version", version.Version, "config", f.config)
	}
	d := daemon.New(cfg, opts)
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
