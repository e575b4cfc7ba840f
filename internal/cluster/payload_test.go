package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
)

func TestStatePayload(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{name: "uncompressed empty payload (our tombstones)", in: nil, want: nil},
		{name: "empty slice", in: []byte{}, want: []byte{}},
		// What pulsar-client-go hands us for a Java tombstone: LZ4 (or
		// Snappy) of an empty input, not decompressed because the
		// metadata's uncompressed_size is 0.
		{name: "LZ4 or Snappy of an empty payload", in: []byte{0x00}, want: nil},
		{name: "one byte that is not the empty encoding", in: []byte{0x01}, want: []byte{0x01}},
		{name: "a real message starting with 0x00 bytes", in: []byte{0x00, 0x00}, want: []byte{0x00, 0x00}},
		{name: "a protobuf message", in: []byte{0x0a, 0x01, 'a'}, want: []byte{0x0a, 0x01, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StatePayload(tt.in)
			if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("StatePayload(%x) = %x (nil %v), want %x (nil %v)", tt.in, got, got == nil, tt.want, tt.want == nil)
			}
		})
	}
}

func TestIsUndecodable(t *testing.T) {
	base := errors.New("cannot parse invalid wire-format data")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "plain error", err: base, want: false},
		{name: "undecodable", err: Undecodable(base), want: true},
		{name: "wrapped undecodable", err: fmt.Errorf("decode x: %w", Undecodable(base)), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsUndecodable(tt.err); got != tt.want {
				t.Fatalf("IsUndecodable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(Undecodable(base), base) {
		t.Fatal("UndecodableError does not unwrap to its cause")
	}
}

// fakeMsg is the part of pulsar.Message a state topic reads.
type fakeMsg struct {
	pulsar.Message
	id      pulsar.MessageID
	key     string
	payload []byte
}

func (m fakeMsg) ID() pulsar.MessageID { return m.id }
func (m fakeMsg) Key() string          { return m.key }
func (m fakeMsg) Payload() []byte      { return m.payload }

func TestApplySkipsUndecodableMessages(t *testing.T) {
	readErr := errors.New("broker gone")
	tests := []struct {
		name        string
		applyErr    error
		wantErr     bool
		wantSkipped int
		wantLog     bool
	}{
		{name: "applied", applyErr: nil},
		{name: "undecodable: logged, counted, skipped", applyErr: Undecodable(errors.New("bad bytes")), wantSkipped: 1, wantLog: true},
		{name: "other errors stop the reader", applyErr: readErr, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			skipped := 0
			s := NewStateTopic(nil, StateTopicOptions{
				Topic:   "persistent://public/fw/assignments",
				Apply:   func(pulsar.Message) error { return tt.applyErr },
				Skipped: func() { skipped++ },
			}, slog.New(slog.NewTextHandler(&logs, nil)))
			before := pulsar.NewMessageID(1, 1, -1, -1)
			s.lastID = before
			id := pulsar.NewMessageID(7, 42, -1, -1)
			err := s.applyMsg(fakeMsg{id: id, key: "k", payload: []byte("not a protobuf")})
			if (err != nil) != tt.wantErr {
				t.Fatalf("applyMsg = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, readErr) {
				t.Fatalf("applyMsg = %v, want it to wrap %v", err, readErr)
			}
			wantLast := id
			if tt.wantErr {
				wantLast = before
			}
			if s.lastID.String() != wantLast.String() {
				t.Fatalf("lastID = %v, want %v", s.lastID, wantLast)
			}
			if skipped != tt.wantSkipped {
				t.Fatalf("skipped %d, want %d", skipped, tt.wantSkipped)
			}
			line := logs.String()
			hasLog := strings.Contains(line, "level=ERROR") && strings.Contains(line, "topic=persistent://public/fw/assignments") &&
				strings.Contains(line, "message_id="+id.String())
			if hasLog != tt.wantLog {
				t.Fatalf("log %q: has the skip line %v, want %v", line, hasLog, tt.wantLog)
			}
		})
	}
}
