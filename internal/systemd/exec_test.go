package systemd

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// Each line of an instance's output becomes one native journal entry with
// the instance's fields; MESSAGE uses the binary form.
func TestJournalRelayAddsFields(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "journal.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old := journalSocket
	journalSocket = sock
	t.Cleanup(func() { journalSocket = old })

	j, err := openJournal("pulsar-fn-t-ns-f-0", []string{"PULSAR_FUNCTION=t/ns/f", "PULSAR_INSTANCE=0", "bad field=x", "_TRUSTED=x"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	j.relay(strings.NewReader("first line\nsecond\n"))

	for _, want := range []string{"first line", "second"} {
		buf := make([]byte, 1<<16)
		n, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		entry := string(buf[:n])
		head, msg, ok := strings.Cut(entry, "MESSAGE\n")
		if !ok {
			t.Fatalf("no MESSAGE in %q", entry)
		}
		if head != "SYSLOG_IDENTIFIER=pulsar-fn-t-ns-f-0\nPULSAR_FUNCTION=t/ns/f\nPULSAR_INSTANCE=0\nPRIORITY=6\n" {
			t.Errorf("fields %q", head)
		}
		size := binary.LittleEndian.Uint64([]byte(msg[:8]))
		if got := msg[8 : 8+size]; got != want || msg[8+size:] != "\n" {
			t.Errorf("message %q (size %d), want %q", got, size, want)
		}
	}
}
