package systemd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecInstance is the trampoline run inside a fresh scope: it waits until
// the worker has moved it into its scope, then runs argv with its output
// relayed line by line to the journal as native entries carrying fields
// (KEY=value: PULSAR_FUNCTION=tenant/ns/name, ...), so that
// `journalctl PULSAR_FUNCTION=...` finds them; journald attributes them to
// the scope, as they come from inside it. (Scopes cannot carry
// LogExtraFields= in systemd 252.) It stays as the instance's parent and
// ends as the instance did: same exit code, or the same signal. Without a
// journal it execs argv directly. It returns only on failure.
func ExecInstance(identifier string, fields []string, argv []string) error {
	sync := os.NewFile(3, "sync")
	var b [1]byte
	if _, err := sync.Read(b[:]); err != nil {
		return fmt.Errorf("instance-exec: wait for the worker: %w", err)
	}
	sync.Close()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("instance-exec: %w", err)
	}
	j, err := openJournal(identifier, fields)
	if err != nil {
		// No native journal: the stream keeps at least the unit's fields.
		if fd, err := journalStream(identifier); err == nil {
			_ = unix.Dup2(fd, 1)
			_ = unix.Dup2(fd, 2)
			unix.Close(fd)
		}
		return syscall.Exec(path, argv, instanceEnv(os.Environ()))
	}
	defer j.close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("instance-exec: %w", err)
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: instanceEnv(os.Environ()), Stdout: w, Stderr: w}
	// Signals meant for the instance reach it also when sent to us alone;
	// systemd's KillUnit reaches both anyway.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("instance-exec: %w", err)
	}
	w.Close()
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		j.relay(r)
	}()
	werr := cmd.Wait()
	// Output still buffered in the pipe; a grandchild holding it open must not keep us.
	select {
	case <-relayed:
	case <-time.After(2 * time.Second):
	}
	signal.Stop(sigs)
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			signal.Reset(ws.Signal())
			_ = syscall.Kill(os.Getpid(), ws.Signal())
			time.Sleep(time.Second) // the signal's default action ends us
		}
		os.Exit(ee.ExitCode())
	}
	if werr != nil {
		return fmt.Errorf("instance-exec: %w", werr)
	}
	os.Exit(0)
	return nil
}

// journal writes native journal entries (the protocol of sd_journal_send)
// with a fixed set of fields.
type journal struct {
	conn   *net.UnixConn
	prefix []byte // SYSLOG_IDENTIFIER and the extra fields, one per line
}

// journalSocket is journald's native socket (a variable for tests).
var journalSocket = "/run/systemd/journal/socket"

// maxLine bounds one journal entry's message; longer lines are split.
const maxLine = 48 << 10

func openJournal(identifier string, fields []string) (*journal, error) {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: journalSocket, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	var p bytes.Buffer
	p.WriteString("SYSLOG_IDENTIFIER=" + oneLine(identifier) + "\n")
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !validFieldName(k) {
			continue
		}
		p.WriteString(k + "=" + oneLine(v) + "\n")
	}
	return &journal{conn: conn, prefix: p.Bytes()}, nil
}

func (j *journal) close() { j.conn.Close() }

// relay sends every line read from r as one entry (PRIORITY=6).
func (j *journal) relay(r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 || (err == nil && !isPrefix) {
			j.send(line)
		}
		if err != nil {
			return
		}
	}
}

func (j *journal) send(msg []byte) {
	var b bytes.Buffer
	b.Write(j.prefix)
	b.WriteString("PRIORITY=6\n")
	// The binary form: MESSAGE may hold anything but a newline here, and
	// this keeps it safe whatever it holds.
	b.WriteString("MESSAGE\n")
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(msg)))
	b.Write(n[:])
	b.Write(msg)
	b.WriteByte('\n')
	_, _ = j.conn.Write(b.Bytes())
}

// validFieldName: uppercase letters, digits and underscores, not starting
// with an underscore or a digit (journald's rule).
func validFieldName(k string) bool {
	if k == "" || len(k) > 64 || k[0] == '_' || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// instanceEnv drops what systemd handed the worker itself: an instance must
// not talk to the worker's notify socket or think it owns its journal stream.
func instanceEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
			"INVOCATION_ID", "JOURNAL_STREAM", "MAINPID", "SYSTEMD_EXEC_PID":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// journalStream opens a journald stdout stream, as sd_journal_stream_fd does.
func journalStream(identifier string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: "/run/systemd/journal/stdout"}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	_ = unix.Shutdown(fd, unix.SHUT_RD)
	// identifier, unit id, priority, level prefix, forward to syslog, kmsg, console
	header := identifier + "\n\n6\n1\n0\n0\n0\n"
	if _, err := unix.Write(fd, []byte(header)); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
