// Package metadata keeps the cluster's function metadata: every worker's view
// of the metadata topic, and the leader's single writer. The message formats,
// the version rule and the read/write discipline are the Java worker's, so Go
// and Java workers share one metadata topic.
package metadata

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// versionProperty is the message property every metadata message carries.
const versionProperty = "version"

// ErrOutdated means a change's version is not newer than the stored one.
var ErrOutdated = errors.New("metadata change is out of date")

// FQFN is a function's fully qualified name, tenant/namespace/name.
func FQFN(tenant, namespace, name string) string { return tenant + "/" + namespace + "/" + name }

// FQFNOf names the function md describes.
func FQFNOf(md *pb.FunctionMetaData) string {
	d := md.GetFunctionDetails()
	return FQFN(d.GetTenant(), d.GetNamespace(), d.GetName())
}

// Options configures the metadata view.
type Options struct {
	Topic    string // persistent://<pulsarFunctionsNamespace>/<functionMetadataTopicName>
	WorkerID string
	// Compacted selects the useCompactedMetadataTopic format: key = FQFN,
	// value = FunctionMetaData, empty value = delete.
	Compacted bool
	// Skipped, when set, counts messages skipped as undecodable.
	Skipped func()
	Logger  *slog.Logger
}

// Manager holds this worker's view of all functions, sources and sinks.
type Manager struct {
	opts  Options
	topic *cluster.StateTopic
	log   *slog.Logger

	mu  sync.RWMutex
	fns map[string]*pb.FunctionMetaData // by FQFN
	// changed is signalled after every change the leader writes.
	changed func()
	writeMu sync.Mutex // serialises leader writes
	// write publishes one message as the leader (the topic's Write; a fake
	// in tests).
	write func(context.Context, *pulsar.ProducerMessage) (pulsar.MessageID, error)
}

// writeTimeout bounds a leader's metadata write. The write does not follow
// the caller's context: once a change is sent it may be stored and applied
// by every other worker, so the leader must learn the outcome and apply it
// too, even when the client or a forwarding worker has given up.
const writeTimeout = 30 * time.Second

// New prepares the view; Load reads the topic.
func New(client pulsar.Client, o Options) *Manager {
	m := &Manager{opts: o, log: o.Logger, fns: map[string]*pb.FunctionMetaData{}, changed: func() {}}
	m.topic = cluster.NewStateTopic(client, cluster.StateTopicOptions{
		Topic:         o.Topic,
		ReaderName:    o.WorkerID + "-function-metadata-tailer",
		ReadCompacted: o.Compacted,
		Apply:         m.applyMessage,
		Skipped:       o.Skipped,
	}, o.Logger)
	m.write = m.topic.Write
	return m
}

// OnChange sets the function the leader calls after each write it applied
// (the scheduler's trigger).
func (m *Manager) OnChange(f func()) { m.changed = f }

// Load reads the metadata topic from the start; the worker is not
// initialised before this returns.
func (m *Manager) Load(ctx context.Context) error { return m.topic.Load(ctx) }

// Follow applies changes other workers' leader writes, until Lead.
func (m *Manager) Follow(fail func(error)) { m.topic.Follow(fail) }

// Lead makes this worker the single writer (see cluster.StateTopic.Lead).
func (m *Manager) Lead(ctx context.Context, stillLeader func(context.Context) bool) error {
	return m.topic.Lead(ctx, m.opts.WorkerID+"-leader", cluster.LeaderRetryMetadata, stillLeader)
}

// Unlead gives up writing and follows again.
func (m *Manager) Unlead(fail func(error)) error { return m.topic.Unlead(fail) }

// Close releases the reader and producer.
func (m *Manager) Close() { m.topic.Close() }

// Get returns a copy of the metadata of tenant/namespace/name.
func (m *Manager) Get(tenant, namespace, name string) (*pb.FunctionMetaData, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	md, ok := m.fns[FQFN(tenant, namespace, name)]
	if !ok {
		return nil, false
	}
	return proto.Clone(md).(*pb.FunctionMetaData), true
}

// List returns copies of the metadata in tenant/namespace, sorted by name.
func (m *Manager) List(tenant, namespace string) []*pb.FunctionMetaData {
	m.mu.RLock()
	var out []*pb.FunctionMetaData
	for _, md := range m.fns {
		d := md.GetFunctionDetails()
		if d.GetTenant() == tenant && d.GetNamespace() == namespace {
			out = append(out, proto.Clone(md).(*pb.FunctionMetaData))
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *pb.FunctionMetaData) int {
		return compareStrings(a.GetFunctionDetails().GetName(), b.GetFunctionDetails().GetName())
	})
	return out
}

// All returns every function's metadata. The messages are shared: callers
// must not modify them.
func (m *Manager) All() []*pb.FunctionMetaData {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*pb.FunctionMetaData, 0, len(m.fns))
	for _, md := range m.fns {
		out = append(out, md)
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Update writes a change as the leader: reject outdated ones, publish, then
// apply to the view and tell the scheduler. A delete of an unknown function
// is a no-op, as in Java.
func (m *Manager) Update(ctx context.Context, md *pb.FunctionMetaData, del bool) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	fqfn := FQFNOf(md)
	m.mu.RLock()
	existing, ok := m.fns[fqfn]
	m.mu.RUnlock()
	if del && !ok {
		return nil
	}
	if ok && existing.GetVersion() >= md.GetVersion() {
		return fmt.Errorf("%s version %d (stored %d): %w", fqfn, md.GetVersion(), existing.GetVersion(), ErrOutdated)
	}
	msg, err := m.encode(md, del)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if _, err := m.write(wctx, msg); err != nil {
		return fmt.Errorf("write metadata of %s: %w", fqfn, err)
	}
	m.set(fqfn, md, del)
	m.changed()
	if ctx.Err() != nil {
		m.log.Info("metadata change written and applied after its caller gave up", "function", fqfn,
			"version", md.GetVersion(), "delete", del)
	}
	return nil
}

func (m *Manager) encode(md *pb.FunctionMetaData, del bool) (*pulsar.ProducerMessage, error) {
	props := map[string]string{versionProperty: strconv.FormatUint(md.GetVersion(), 10)}
	if m.opts.Compacted {
		msg := &pulsar.ProducerMessage{Key: FQFNOf(md), Properties: props}
		if !del {
			b, err := proto.Marshal(md)
			if err != nil {
				return nil, fmt.Errorf("encode metadata of %s: %w", FQFNOf(md), err)
			}
			msg.Payload = b
		}
		return msg, nil
	}
	typ := pb.ServiceRequest_UPDATE
	if del {
		typ = pb.ServiceRequest_DELETE
	}
	b, err := proto.Marshal(&pb.ServiceRequest{
		ServiceRequestType: typ,
		RequestId:          newUUID(),
		FunctionMetaData:   md,
		WorkerId:           m.opts.WorkerID,
	})
	if err != nil {
		return nil, fmt.Errorf("encode metadata of %s: %w", FQFNOf(md), err)
	}
	return &pulsar.ProducerMessage{Payload: b, Properties: props}, nil
}

// applyMessage is the tailer's half of the version rule: newer changes
// replace, outdated ones are skipped.
func (m *Manager) applyMessage(msg pulsar.Message) error {
	md, del, err := decode(msg, m.opts.Compacted)
	if err != nil {
		return err
	}
	if md == nil {
		return nil // a compacted-format message without version: Java ignores it too
	}
	fqfn := FQFNOf(md)
	m.mu.RLock()
	existing, ok := m.fns[fqfn]
	m.mu.RUnlock()
	if ok && existing.GetVersion() >= md.GetVersion() {
		return nil
	}
	if del && !ok {
		return nil
	}
	m.set(fqfn, md, del)
	return nil
}

func (m *Manager) set(fqfn string, md *pb.FunctionMetaData, del bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if del {
		delete(m.fns, fqfn)
		m.log.Info("function deleted", "function", fqfn, "version", md.GetVersion())
		return
	}
	m.fns[fqfn] = md
	m.log.Info("function updated", "function", fqfn, "version", md.GetVersion())
}

// decode reads one metadata message in either format. md is nil for a
// message to ignore; errors are cluster.UndecodableError (the reader skips
// the message).
func decode(msg pulsar.Message, compacted bool) (md *pb.FunctionMetaData, del bool, err error) {
	md, del, err = decodeFormat(msg, compacted)
	if err == nil && md != nil {
		err = checkNamed(md)
	}
	if err != nil {
		return nil, false, cluster.Undecodable(err)
	}
	return md, del, nil
}

// checkNamed rejects metadata that names no function: bytes that happen to
// parse as a message (an empty payload parses as an UPDATE of nothing) must
// not become a function the scheduler places.
func checkNamed(md *pb.FunctionMetaData) error {
	d := md.GetFunctionDetails()
	if d.GetTenant() == "" || d.GetNamespace() == "" || d.GetName() == "" {
		return fmt.Errorf("metadata names no function (tenant %q, namespace %q, name %q)", d.GetTenant(), d.GetNamespace(), d.GetName())
	}
	return nil
}

func decodeFormat(msg pulsar.Message, compacted bool) (md *pb.FunctionMetaData, del bool, err error) {
	payload := cluster.StatePayload(msg.Payload())
	if !compacted {
		var req pb.ServiceRequest
		if err := proto.Unmarshal(payload, &req); err != nil {
			return nil, false, fmt.Errorf("decode metadata request %v: %w", msg.ID(), err)
		}
		switch req.GetServiceRequestType() {
		case pb.ServiceRequest_UPDATE, pb.ServiceRequest_DELETE:
			if req.GetFunctionMetaData() == nil {
				return nil, false, fmt.Errorf("metadata request %v: %v without function metadata", msg.ID(), req.GetServiceRequestType())
			}
			return req.GetFunctionMetaData(), req.GetServiceRequestType() == pb.ServiceRequest_DELETE, nil
		default:
			return nil, false, nil
		}
	}
	v, ok := msg.Properties()[versionProperty]
	if !ok {
		return nil, false, nil
	}
	version, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, false, fmt.Errorf("metadata message %v: version property %q: %w", msg.ID(), v, err)
	}
	if len(payload) == 0 {
		tenant, ns, name, err := splitFQFN(msg.Key())
		if err != nil {
			return nil, false, fmt.Errorf("metadata tombstone %v: %w", msg.ID(), err)
		}
		return &pb.FunctionMetaData{Version: version, FunctionDetails: &pb.FunctionDetails{
			Tenant: tenant, Namespace: ns, Name: name,
		}}, true, nil
	}
	md = &pb.FunctionMetaData{}
	if err := proto.Unmarshal(payload, md); err != nil {
		return nil, false, fmt.Errorf("decode metadata %v: %w", msg.ID(), err)
	}
	return md, false, nil
}

func splitFQFN(s string) (tenant, ns, name string, err error) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("function name %q: want tenant/namespace/name", s)
	}
	return parts[0], parts[1], parts[2], nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
