package scheduler

import (
	"io"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// FuzzApplyAssignmentMessage feeds arbitrary messages of the assignment topic
// (written by any worker of the cluster, ours or Java's, or by anyone with
// produce permission on it) to the assignments view: a message is applied or
// reported undecodable, never a panic, and the view stays readable.
func FuzzApplyAssignmentMessage(f *testing.F) {
	asg, _ := proto.Marshal(&pb.Assignment{WorkerId: "w1", Instance: &pb.Instance{InstanceId: 1,
		FunctionMetaData: &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{Tenant: "public", Namespace: "default", Name: "f"}}}})
	f.Add("public/default/f:1", asg)
	f.Add("public/default/f:0", []byte{})
	f.Add("public/default/f:0", []byte{0x00})
	f.Add("", []byte("not a protobuf \xff\x00"))
	f.Add("x", []byte{0x0a, 0x00, 0x12, 0x02, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, key string, payload []byte) {
		a := &Assignments{log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			byKey: map[string]*pb.Assignment{}, changed: func() {}}
		if err := a.applyMessage(asgMsg{key: key, payload: payload}); err != nil && !cluster.IsUndecodable(err) {
			t.Fatalf("applyMessage: %v is not marked undecodable", err)
		}
		_ = a.ByWorker()
		_, _ = a.Owner(key)
		for _, asg := range a.snapshot() {
			_ = a.ForWorker(asg.GetWorkerId())
		}
	})
}
