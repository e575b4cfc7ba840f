// Package cluster is how a worker belongs to the cluster: membership and
// leader election on the coordination topic's failover subscription, exactly
// as Java workers do it, so Go and Java workers can share one cluster.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// Subscription is the failover subscription on the coordination topic whose
// consumers are the members and whose active consumer is the leader.
const Subscription = "participants"

// idProperty is the consumer property carrying the member's WorkerInfo.
const idProperty = "id"

// ErrLeaderUnknown means the broker names no active consumer we can parse.
var ErrLeaderUnknown = errors.New("Leader cannot be determined")

// StatsReader reads a topic's stats from the broker's admin API.
type StatsReader interface {
	TopicStats(ctx context.Context, topic string) (utils.TopicStats, error)
}

// Subscriber opens consumers; pulsar.Client satisfies it.
type Subscriber interface {
	Subscribe(pulsar.ConsumerOptions) (pulsar.Consumer, error)
}

// Membership is this worker's seat in the cluster.
type Membership struct {
	self    WorkerInfo
	topic   string
	stats   StatsReader
	log     *slog.Logger
	leader  atomic.Bool
	events  atomic.Uint64 // active-consumer events received
	changes chan bool

	mu       sync.Mutex
	consumer pulsar.Consumer
}

// Join subscribes to the coordination topic as Java workers do: failover
// subscription "participants", consumer name and "id" property set to the
// WorkerInfo string. From then on the broker counts this worker as a member
// and may make it the active consumer, i.e. the leader.
//
// Nobody should produce to the coordination topic. A message that arrives
// anyway goes to the active consumer only: the leader logs it with its id,
// counts it through skipped (may be nil) and acknowledges it, so a stray
// message is visible and never piles up. (The Java worker never receives
// from this consumer; the message stays in its backlog.)
func Join(ctx context.Context, sub Subscriber, stats StatsReader, topic string, self WorkerInfo, skipped func(), log *slog.Logger) (*Membership, error) {
	m := &Membership{self: self, topic: topic, stats: stats, log: log, changes: make(chan bool, 16)}
	c, err := sub.Subscribe(pulsar.ConsumerOptions{
		Topic:            topic,
		SubscriptionName: Subscription,
		Type:             pulsar.Failover,
		Name:             self.String(),
		Properties:       map[string]string{idProperty: self.String()},
		EventListener:    listener{m},
		// Nobody produces to this topic, and, like the Java worker's
		// LeaderService, we never receive from it: a message someone does
		// produce stays in the subscription's backlog (the broker sends at
		// most one into this queue, for lack of permits) and changes
		// nothing. Keep the consumer's footprint small.
		ReceiverQueueSize: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("join cluster: subscribe to %s as %s: %w", topic, self, err)
	}
	m.mu.Lock()
	m.consumer = c
	m.mu.Unlock()
	go m.skipStray(c, skipped)
	log.Info("joined cluster", "topic", topic, "worker", self.String())
	// pulsar-client-go registers the consumer only after the subscribe
	// answer, so it drops the broker's first active-consumer event: learn
	// the initial state from the broker's stats instead.
	if err := m.Reconcile(ctx); err != nil {
		log.Warn("read initial leader", "err", err)
	}
	return m, nil
}

// skipStray receives whatever is produced to the coordination topic (only
// the active consumer gets anything), logs, counts and acknowledges it,
// until the consumer is closed (Leave).
func (m *Membership) skipStray(c pulsar.Consumer, skipped func()) {
	for {
		msg, err := c.Receive(context.Background())
		if err != nil {
			return
		}
		m.log.Error("skipping a message on the coordination topic: nobody should produce to it",
			"topic", m.topic, "message_id", msg.ID().String(), "key", msg.Key(), "bytes", len(msg.Payload()))
		if skipped != nil {
			skipped()
		}
		_ = c.Ack(msg)
	}
}

// listener turns the broker's active-consumer-change events into leadership.
type listener struct{ m *Membership }

func (l listener) BecameActive(pulsar.Consumer, string, int32)   { l.m.onEvent(true) }
func (l listener) BecameInactive(pulsar.Consumer, string, int32) { l.m.onEvent(false) }

func (m *Membership) onEvent(active bool) {
	m.events.Add(1)
	m.setLeader(active)
}

// Reconcile sets leadership from the broker's view (the subscription's active
// consumer), unless an active-consumer event arrived meanwhile, which is newer.
func (m *Membership) Reconcile(ctx context.Context) error {
	seen := m.events.Load()
	leader, err := m.Leader(ctx)
	if errors.Is(err, ErrLeaderUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	joined := m.consumer != nil
	m.mu.Unlock()
	if joined && m.events.Load() == seen {
		m.setLeader(leader.WorkerID == m.self.WorkerID)
	}
	return nil
}

func (m *Membership) setLeader(v bool) {
	if m.leader.Swap(v) == v {
		return
	}
	m.log.Info("leadership changed", "leader", v, "worker", m.self.WorkerID)
	select {
	case m.changes <- v:
	default:
		// A slow reader only needs the latest state, which IsLeader has.
	}
}

// Self is this worker's identity.
func (m *Membership) Self() WorkerInfo { return m.self }

// IsLeader reports the broker's last active-consumer event for this worker.
func (m *Membership) IsLeader() bool { return m.leader.Load() }

// LeaderChanges delivers leadership transitions of this worker.
func (m *Membership) LeaderChanges() <-chan bool { return m.changes }

// Leave closes the coordination consumer, so the broker picks another leader
// at once instead of waiting for a connection timeout.
func (m *Membership) Leave() error {
	m.mu.Lock()
	c := m.consumer
	m.consumer = nil
	m.mu.Unlock()
	if c == nil {
		return nil
	}
	c.Close()
	m.setLeader(false)
	m.log.Info("left cluster", "worker", m.self.String())
	return nil
}

// Members lists the workers the broker sees on the subscription, sorted by
// workerId. Consumers without a parsable "id" property are skipped and logged
// (a Java worker would fail the whole listing).
func (m *Membership) Members(ctx context.Context) ([]WorkerInfo, error) {
	sub, err := m.subscription(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]WorkerInfo, 0, len(sub.Consumers))
	for _, c := range sub.Consumers {
		wi, err := ParseWorkerInfo(c.Metadata[idProperty])
		if err != nil {
			m.log.Warn("coordination consumer without a valid id property", "consumer", c.ConsumerName, "err", err)
			continue
		}
		out = append(out, wi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WorkerID < out[j].WorkerID })
	return out, nil
}

// Leader asks the broker which member is the active consumer.
func (m *Membership) Leader(ctx context.Context) (WorkerInfo, error) {
	sub, err := m.subscription(ctx)
	if err != nil {
		return WorkerInfo{}, err
	}
	for _, c := range sub.Consumers {
		if sub.ActiveConsumerName != "" && c.ConsumerName == sub.ActiveConsumerName {
			return ParseWorkerInfo(c.Metadata[idProperty])
		}
	}
	return WorkerInfo{}, ErrLeaderUnknown
}

func (m *Membership) subscription(ctx context.Context) (utils.SubscriptionStats, error) {
	st, err := m.stats.TopicStats(ctx, m.topic)
	if err != nil {
		return utils.SubscriptionStats{}, fmt.Errorf("read membership: %w", err)
	}
	return st.Subscriptions[Subscription], nil
}
