package metadata

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// fakeMsg is the part of pulsar.Message the metadata view reads.
type fakeMsg struct {
	pulsar.Message
	key     string
	payload []byte
	props   map[string]string
}

func (m fakeMsg) Key() string                   { return m.key }
func (m fakeMsg) Payload() []byte               { return m.payload }
func (m fakeMsg) Properties() map[string]string { return m.props }
func (m fakeMsg) ID() pulsar.MessageID          { return pulsar.EarliestMessageID() }

func fn(name string, version uint64) *pb.FunctionMetaData {
	return &pb.FunctionMetaData{Version: version, FunctionDetails: &pb.FunctionDetails{
		Tenant: "public", Namespace: "default", Name: name, Parallelism: 1}}
}

// message encodes md as a worker in the given mode would write it.
func message(t *testing.T, compacted bool, md *pb.FunctionMetaData, del bool) pulsar.Message {
	t.Helper()
	m := &Manager{opts: Options{WorkerID: "w1", Compacted: compacted}}
	pm, err := m.encode(md, del)
	if err != nil {
		t.Fatal(err)
	}
	return fakeMsg{key: pm.Key, payload: pm.Payload, props: pm.Properties}
}

func newView() *Manager {
	return &Manager{fns: map[string]*pb.FunctionMetaData{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), changed: func() {}}
}

func TestVersionRule(t *testing.T) {
	for _, compacted := range []bool{false, true} {
		t.Run("compacted="+strconv.FormatBool(compacted), func(t *testing.T) {
			v := newView()
			v.opts.Compacted = compacted
			steps := []struct {
				md          *pb.FunctionMetaData
				del         bool
				wantVersion int64 // -1: absent
			}{
				{fn("f", 0), false, 0},
				{fn("f", 2), false, 2},
				{fn("f", 1), false, 2}, // outdated update: skipped
				{fn("f", 2), true, 2},  // outdated delete: skipped
				{fn("f", 3), true, -1},
				{fn("f", 4), true, -1}, // delete of unknown: no-op
				{fn("f", 0), false, 0}, // re-created
			}
			for i, s := range steps {
				if err := v.applyMessage(message(t, compacted, s.md, s.del)); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				got, ok := v.Get("public", "default", "f")
				switch {
				case s.wantVersion < 0 && ok:
					t.Fatalf("step %d: function present (v%d), want deleted", i, got.GetVersion())
				case s.wantVersion >= 0 && (!ok || got.GetVersion() != uint64(s.wantVersion)):
					t.Fatalf("step %d: got %v (present %v), want version %d", i, got.GetVersion(), ok, s.wantVersion)
				}
			}
		})
	}
}

func TestMessageFormats(t *testing.T) {
	md := fn("f", 7)
	// Default format: a ServiceRequest, no key, version property.
	m := message(t, false, md, true)
	var req pb.ServiceRequest
	if err := proto.Unmarshal(m.Payload(), &req); err != nil {
		t.Fatal(err)
	}
	if req.GetServiceRequestType() != pb.ServiceRequest_DELETE || req.GetWorkerId() != "w1" || len(req.GetRequestId()) != 36 ||
		!proto.Equal(req.GetFunctionMetaData(), md) || m.Key() != "" || m.Properties()["version"] != "7" {
		t.Fatalf("default-format delete: %v key=%q props=%v", &req, m.Key(), m.Properties())
	}
	// Compacted format: key = FQFN, FunctionMetaData, empty payload = delete.
	m = message(t, true, md, false)
	var got pb.FunctionMetaData
	if err := proto.Unmarshal(m.Payload(), &got); err != nil || !proto.Equal(&got, md) || m.Key() != "public/default/f" {
		t.Fatalf("compacted update: %v %v key=%q", &got, err, m.Key())
	}
	if m := message(t, true, md, true); len(m.Payload()) != 0 || m.Properties()["version"] != "7" {
		t.Fatalf("compacted delete: payload %d bytes, props %v", len(m.Payload()), m.Properties())
	}
	// A compacted message without the version property is ignored, as by Java.
	v := newView()
	v.opts.Compacted = true
	if err := v.applyMessage(fakeMsg{key: "public/default/f", payload: m.Payload()}); err != nil {
		t.Fatal(err)
	}
	if len(v.All()) != 0 {
		t.Fatal("message without version applied")
	}
}

func TestUpdateRejectsOutdated(t *testing.T) {
	v := newView()
	v.fns["public/default/f"] = fn("f", 3)
	if err := v.Update(context.Background(), fn("f", 3), false); !errors.Is(err, ErrOutdated) {
		t.Fatalf("err = %v, want ErrOutdated", err)
	}
	if err := v.Update(context.Background(), fn("g", 1), true); err != nil {
		t.Fatalf("delete of unknown: %v, want no-op", err)
	}
}

// A caller that gives up (a client disconnect, a forwarding worker's
// timeout) must not stop a write the others will apply: the leader's own
// view follows what the topic holds (issue 12: a deleted function stayed
// alive on the leader after "context canceled").
func TestUpdateOutlivesItsCaller(t *testing.T) {
	for _, tt := range []struct {
		name string
		del  bool
	}{{"update", false}, {"delete", true}} {
		t.Run(tt.name, func(t *testing.T) {
			v := newView()
			v.fns["public/default/f"] = fn("f", 1)
			ctx, cancel := context.WithCancel(context.Background())
			var written []*pulsar.ProducerMessage
			v.write = func(wctx context.Context, msg *pulsar.ProducerMessage) (pulsar.MessageID, error) {
				cancel() // the caller gives up while the message is on its way
				if err := wctx.Err(); err != nil {
					return nil, err
				}
				written = append(written, msg)
				return pulsar.EarliestMessageID(), nil
			}
			if err := v.Update(ctx, fn("f", 2), tt.del); err != nil {
				t.Fatalf("Update: %v", err)
			}
			md, ok := v.fns["public/default/f"]
			if len(written) != 1 || ok == tt.del || (!tt.del && md.GetVersion() != 2) {
				t.Errorf("written %d, view has f: %v (%v); want the change written and applied", len(written), ok, md)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := proto.Marshal(&pb.ServiceRequest{FunctionMetaData: fn("f", 1)})
	f.Add(b, "public/default/f", "1", false)
	f.Add([]byte{}, "a/b", "x", true)
	f.Fuzz(func(t *testing.T, payload []byte, key, version string, compacted bool) {
		_, _, _ = decode(fakeMsg{key: key, payload: payload, props: map[string]string{"version": version}}, compacted)
	})
}

func TestDecodeBadAndCompressedEmptyPayloads(t *testing.T) {
	emptyReq, _ := proto.Marshal(&pb.ServiceRequest{ServiceRequestType: pb.ServiceRequest_UPDATE})
	garbage := []byte("not a protobuf \xff\x00")
	v7 := map[string]string{"version": "7"}
	tests := []struct {
		name            string
		compacted       bool
		msg             fakeMsg
		wantDel         bool
		wantIgnored     bool // md nil, no error
		wantUndecodable bool
	}{
		{name: "compacted: our tombstone", compacted: true,
			msg: fakeMsg{key: "public/default/f", props: v7}, wantDel: true},
		{name: "compacted: Java tombstone, LZ4 of an empty payload", compacted: true,
			msg: fakeMsg{key: "public/default/f", payload: []byte{0x00}, props: v7}, wantDel: true},
		{name: "compacted: garbage", compacted: true,
			msg: fakeMsg{key: "public/default/f", payload: garbage, props: v7}, wantUndecodable: true},
		{name: "compacted: bad version property", compacted: true,
			msg: fakeMsg{key: "public/default/f", props: map[string]string{"version": "x"}}, wantUndecodable: true},
		{name: "compacted: tombstone with a bad key", compacted: true,
			msg: fakeMsg{key: "f", props: v7}, wantUndecodable: true},
		{name: "compacted: metadata naming no function", compacted: true,
			msg: fakeMsg{key: "public/default/f", payload: []byte{0x08, 0x01}, props: v7}, wantUndecodable: true},
		{name: "default: garbage", msg: fakeMsg{payload: garbage, props: v7}, wantUndecodable: true},
		{name: "default: empty payload is an update of nothing", msg: fakeMsg{props: v7}, wantUndecodable: true},
		{name: "default: LZ4 of an empty payload", msg: fakeMsg{payload: []byte{0x00}, props: v7}, wantUndecodable: true},
		{name: "default: update without metadata", msg: fakeMsg{payload: emptyReq, props: v7}, wantUndecodable: true},
		{name: "default: INITIALIZE is ignored, as by Java",
			msg: fakeMsg{payload: mustMarshal(t, &pb.ServiceRequest{ServiceRequestType: pb.ServiceRequest_INITIALIZE})}, wantIgnored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, del, err := decode(tt.msg, tt.compacted)
			if cluster.IsUndecodable(err) != tt.wantUndecodable || (err != nil && !tt.wantUndecodable) {
				t.Fatalf("decode = %v, want undecodable %v", err, tt.wantUndecodable)
			}
			if err != nil {
				return
			}
			if (md == nil) != tt.wantIgnored || del != tt.wantDel {
				t.Fatalf("decode = %v, del %v; want ignored %v, del %v", md, del, tt.wantIgnored, tt.wantDel)
			}
			if del && FQFNOf(md) != "public/default/f" {
				t.Fatalf("tombstone for %q", FQFNOf(md))
			}
		})
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
