package scheduler

import (
	"io"
	"log/slog"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// asgMsg is the part of pulsar.Message the assignments view reads.
type asgMsg struct {
	pulsar.Message
	key     string
	payload []byte
}

func (m asgMsg) Key() string     { return m.key }
func (m asgMsg) Payload() []byte { return m.payload }

func TestApplyAssignmentMessage(t *testing.T) {
	const key = "public/default/f:0"
	asg := &pb.Assignment{WorkerId: "w1", Instance: &pb.Instance{InstanceId: 0}}
	encoded, err := proto.Marshal(asg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		payload         []byte
		wantAssigned    bool
		wantUndecodable bool
	}{
		{name: "assignment", payload: encoded, wantAssigned: true},
		{name: "our tombstone: empty payload", payload: nil},
		{name: "Java tombstone: LZ4 of an empty payload", payload: []byte{0x00}},
		{name: "garbage", payload: []byte("not a protobuf \xff\x00"), wantAssigned: true, wantUndecodable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Assignments{log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				byKey: map[string]*pb.Assignment{key: asg}, changed: func() {}}
			err := a.applyMessage(asgMsg{key: key, payload: tt.payload})
			if cluster.IsUndecodable(err) != tt.wantUndecodable || (err != nil && !tt.wantUndecodable) {
				t.Fatalf("applyMessage = %v, want undecodable %v", err, tt.wantUndecodable)
			}
			if _, ok := a.Owner(key); ok != tt.wantAssigned {
				t.Fatalf("assigned after the message: %v, want %v", ok, tt.wantAssigned)
			}
		})
	}
}
