package systemd

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecInstance is the trampoline run inside a fresh scope: wait until the
// worker has moved this process into its scope, connect stdout and stderr to
// the journal (from inside the scope, so the scope's fields apply), then exec
// argv. It returns only on failure.
func ExecInstance(identifier string, argv []string) error {
	sync := os.NewFile(3, "sync")
	var b [1]byte
	if _, err := sync.Read(b[:]); err != nil {
		return fmt.Errorf("instance-exec: wait for the worker: %w", err)
	}
	sync.Close()
	if fd, err := journalStream(identifier); err == nil {
		_ = unix.Dup2(fd, 1)
		_ = unix.Dup2(fd, 2)
		unix.Close(fd)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("instance-exec: %w", err)
	}
	return syscall.Exec(path, argv, instanceEnv(os.Environ()))
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
