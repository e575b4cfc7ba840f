package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/cluster"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Assignments is this worker's view of the assignments topic: which worker
// runs which instance. Keys are instance keys, values Assignment messages, an
// empty value deletes; the topic is read compacted.
type Assignments struct {
	workerID string
	topic    *cluster.StateTopic
	log      *slog.Logger

	mu    sync.RWMutex
	byKey map[string]*pb.Assignment
	// changed is called after every change, outside the lock.
	changed func()
}

// NewAssignments prepares the view of topic for worker workerID. skipped,
// when set, counts messages skipped as undecodable.
func NewAssignments(client pulsar.Client, topic, workerID string, skipped func(), log *slog.Logger) *Assignments {
	a := &Assignments{workerID: workerID, log: log, byKey: map[string]*pb.Assignment{}, changed: func() {}}
	a.topic = cluster.NewStateTopic(client, cluster.StateTopicOptions{
		Topic:         topic,
		ReaderName:    workerID + "-function-assignment-tailer",
		ReadCompacted: true,
		Apply:         a.applyMessage,
		Skipped:       skipped,
	}, log)
	return a
}

// OnChange sets what to call after the view changed (the runtime's trigger).
func (a *Assignments) OnChange(f func()) { a.changed = f }

// Load reads the topic from the start.
func (a *Assignments) Load(ctx context.Context) error { return a.topic.Load(ctx) }

// Follow applies the leader's writes as they arrive.
func (a *Assignments) Follow(fail func(error)) { a.topic.Follow(fail) }

// Lead makes this worker the topic's single writer.
func (a *Assignments) Lead(ctx context.Context, stillLeader func(context.Context) bool) error {
	return a.topic.Lead(ctx, a.workerID+"-scheduler-manager", cluster.LeaderRetryAssignments, stillLeader)
}

// Unlead gives up writing and follows again.
func (a *Assignments) Unlead(fail func(error)) error { return a.topic.Unlead(fail) }

// Close releases the reader and producer.
func (a *Assignments) Close() { a.topic.Close() }

// applyMessage applies one message of the topic: an empty payload (ours, or
// a Java leader's LZ4-compressed one) deletes the key; a payload that is not
// an Assignment is undecodable, and skipped by the reader.
func (a *Assignments) applyMessage(msg pulsar.Message) error {
	payload := cluster.StatePayload(msg.Payload())
	if len(payload) == 0 {
		a.set(msg.Key(), nil)
		return nil
	}
	var asg pb.Assignment
	if err := proto.Unmarshal(payload, &asg); err != nil {
		return cluster.Undecodable(fmt.Errorf("decode assignment %q: %w", msg.Key(), err))
	}
	a.set(msg.Key(), &asg)
	return nil
}

func (a *Assignments) set(key string, asg *pb.Assignment) {
	a.mu.Lock()
	old := a.byKey[key]
	if asg == nil {
		delete(a.byKey, key)
	} else {
		a.byKey[key] = asg
	}
	a.mu.Unlock()
	if asg == nil && old == nil {
		return
	}
	if asg != nil && old != nil && proto.Equal(asg, old) {
		return
	}
	a.changed()
}

// forget drops an assignment from memory only (the failure check: the next
// round reassigns and publishes it).
func (a *Assignments) forget(key string) {
	a.mu.Lock()
	delete(a.byKey, key)
	a.mu.Unlock()
}

// write publishes an assignment (nil: a tombstone) as the leader and applies it.
func (a *Assignments) write(ctx context.Context, key string, asg *pb.Assignment) error {
	// Tombstones are uncompressed empty payloads, not the Java leader's
	// LZ4-compressed ones, because previous releases of this worker fail
	// on the LZ4 form and may still read the topic during a rolling
	// upgrade. pulsar-client-go readers discard a message with an empty
	// payload as corrupt unless it has properties, so tombstones carry one
	// (Java readers ignore it).
	msg := &pulsar.ProducerMessage{Key: key, Properties: map[string]string{"tombstone": "true"}}
	if asg != nil {
		msg.Properties = nil
		b, err := proto.Marshal(asg)
		if err != nil {
			return fmt.Errorf("encode assignment %s: %w", key, err)
		}
		msg.Payload = b
	}
	if _, err := a.topic.Write(ctx, msg); err != nil {
		return fmt.Errorf("write assignment %s: %w", key, err)
	}
	a.set(key, asg)
	return nil
}

// ForWorker returns the assignments of worker id. Shared messages: read only.
func (a *Assignments) ForWorker(id string) []*pb.Assignment {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []*pb.Assignment
	for _, asg := range a.byKey {
		if asg.GetWorkerId() == id {
			out = append(out, asg)
		}
	}
	return out
}

// Owner names the worker an instance is assigned to.
func (a *Assignments) Owner(key string) (string, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	asg, ok := a.byKey[key]
	return asg.GetWorkerId(), ok
}

// ByWorker is the /admin/v2/worker/assignments answer: workerId to sorted
// instance keys.
func (a *Assignments) ByWorker() map[string][]string {
	a.mu.RLock()
	out := map[string][]string{}
	for key, asg := range a.byKey {
		out[asg.GetWorkerId()] = append(out[asg.GetWorkerId()], key)
	}
	a.mu.RUnlock()
	for w := range out {
		slices.Sort(out[w])
	}
	return out
}

// snapshot copies the map for a scheduling round.
func (a *Assignments) snapshot() map[string]*pb.Assignment {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make(map[string]*pb.Assignment, len(a.byKey))
	for k, v := range a.byKey {
		out[k] = v
	}
	return out
}
