package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// ErrNotLeader means a write was attempted without the topic's exclusive
// producer.
var ErrNotLeader = errors.New("this worker is not the leader")

// StateTopic is one of the cluster's state topics (metadata, assignments).
// Every worker reads it from the start and then follows it; the leader alone
// writes it, through an exclusive producer, and stops following it because it
// applies its own writes. This is the Java worker's discipline: taking the
// exclusive producer before draining the reader means no other writer can
// append while a new leader catches up.
type StateTopic struct {
	client    pulsar.Client
	topic     string
	readName  string // reader name and subscription role prefix
	compacted bool
	apply     func(pulsar.Message) error
	skipped   func()
	log       *slog.Logger

	mu       sync.Mutex
	reader   pulsar.Reader
	lastID   pulsar.MessageID // last message read or written
	producer pulsar.Producer
	stop     context.CancelFunc // stops the follower
	done     chan struct{}      // closed when the follower has stopped
}

// StateTopicOptions configures a StateTopic.
type StateTopicOptions struct {
	Topic string
	// ReaderName is used as reader name and subscription role prefix, as the
	// Java worker names its readers (e.g. <workerId>-function-metadata-tailer).
	ReaderName string
	// ReadCompacted reads the compacted view of the topic.
	ReadCompacted bool
	// Apply is called for every message read, one at a time, in order. An
	// UndecodableError skips the message (logged, counted with Skipped);
	// any other error stops the follower (the Java worker treats it as
	// fatal).
	Apply func(pulsar.Message) error
	// Skipped, when set, is called for every message skipped as
	// undecodable (the worker's skip counter).
	Skipped func()
}

// NewStateTopic prepares a state topic; Load reads it.
func NewStateTopic(client pulsar.Client, o StateTopicOptions, log *slog.Logger) *StateTopic {
	return &StateTopic{client: client, topic: o.Topic, readName: o.ReaderName, compacted: o.ReadCompacted,
		apply: o.Apply, skipped: o.Skipped, log: log.With("topic", o.Topic)}
}

func (s *StateTopic) openReader(start pulsar.MessageID) (pulsar.Reader, error) {
	r, err := s.client.CreateReader(pulsar.ReaderOptions{
		Topic:                  s.topic,
		Name:                   s.readName,
		SubscriptionRolePrefix: s.readName,
		StartMessageID:         start,
		ReadCompacted:          s.compacted,
	})
	if err != nil {
		return nil, fmt.Errorf("open reader on %s: %w", s.topic, err)
	}
	return r, nil
}

// Load reads the topic from the earliest message to its end, applying every
// message. Call it once, before Follow or Lead.
func (s *StateTopic) Load(ctx context.Context) error {
	r, err := s.openReader(pulsar.EarliestMessageID())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reader = r
	s.mu.Unlock()
	n, err := s.drain(ctx)
	s.log.Debug("loaded state topic", "messages", n)
	return err
}

// drain applies messages until the reader has none left.
func (s *StateTopic) drain(ctx context.Context) (int, error) {
	n := 0
	for {
		// HasNext is false on errors too, so "caught up" is only as
		// reliable as pulsar-client-go makes it.
		if !s.reader.HasNext() {
			return n, nil
		}
		msg, err := s.reader.Next(ctx)
		if err != nil {
			return n, fmt.Errorf("read %s: %w", s.topic, err)
		}
		if err := s.applyMsg(msg); err != nil {
			return n, err
		}
		n++
	}
}

// applyMsg applies one message; an undecodable one is logged, counted and
// skipped (the reader moves past it), so one bad message on a shared topic
// cannot stop every worker of the cluster, again at each restart.
func (s *StateTopic) applyMsg(msg pulsar.Message) error {
	if err := s.apply(msg); err != nil {
		if !IsUndecodable(err) {
			return fmt.Errorf("apply message %v of %s: %w", msg.ID(), s.topic, err)
		}
		s.log.Error("skipping a state topic message that cannot be decoded",
			"message_id", msg.ID().String(), "key", msg.Key(), "payload_bytes", len(msg.Payload()), "err", err)
		if s.skipped != nil {
			s.skipped()
		}
	}
	s.mu.Lock()
	s.lastID = msg.ID()
	s.mu.Unlock()
	return nil
}

// Follow applies new messages as they arrive, until Lead or Close. fail is
// called (once) if following fails for good.
func (s *StateTopic) Follow(fail func(error)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.stop, s.done = cancel, done
	r := s.reader
	s.mu.Unlock()
	go func() {
		defer close(done)
		for {
			msg, err := r.Next(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.log.Warn("follow state topic", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			if err := s.applyMsg(msg); err != nil {
				fail(err)
				return
			}
		}
	}()
}

func (s *StateTopic) stopFollowing() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Lead takes the exclusive producer (retrying while stillLeader says so),
// stops following and applies whatever is left, so the caller's view is
// complete. From then on the caller writes with Write and applies its own
// writes.
func (s *StateTopic) Lead(ctx context.Context, producerName string, retry time.Duration, stillLeader func(context.Context) bool) error {
	var p pulsar.Producer
	for attempt := 1; ; attempt++ {
		var err error
		p, err = s.client.CreateProducer(pulsar.ProducerOptions{
			Topic:              s.topic,
			Name:               producerName,
			ProducerAccessMode: pulsar.ProducerAccessModeExclusive,
			DisableBatching:    true,
			// The Java worker compresses with LZ4. We read its LZ4
			// tombstones (see StatePayload) but write uncompressed:
			// previous releases of this worker fail on an LZ4-compressed
			// empty payload, and may still read these topics during a
			// rolling upgrade. These messages are small anyway.
			CompressionType: pulsar.NoCompression,
		})
		if err == nil {
			break
		}
		s.log.Info("waiting for the exclusive producer", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
		if !stillLeader(ctx) {
			return fmt.Errorf("take exclusive producer on %s: no longer leader: %w", s.topic, ErrNotLeader)
		}
	}
	s.stopFollowing()
	if _, err := s.drain(ctx); err != nil {
		p.Close()
		return err
	}
	s.mu.Lock()
	s.producer = p
	s.mu.Unlock()
	return nil
}

// Write publishes one message with the exclusive producer and returns its id.
// The caller applies the change to its own view.
func (s *StateTopic) Write(ctx context.Context, msg *pulsar.ProducerMessage) (pulsar.MessageID, error) {
	s.mu.Lock()
	p := s.producer
	s.mu.Unlock()
	if p == nil {
		return nil, ErrNotLeader
	}
	id, err := p.Send(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", s.topic, err)
	}
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
	return id, nil
}

// Unlead gives up the producer and follows the topic again from the last
// message this worker read or wrote (not before: replaying its own writes
// could resurrect deleted entries).
func (s *StateTopic) Unlead(fail func(error)) error {
	s.mu.Lock()
	p, old, last := s.producer, s.reader, s.lastID
	s.producer = nil
	s.mu.Unlock()
	if p != nil {
		p.Close()
	}
	if last == nil {
		last = pulsar.EarliestMessageID()
	}
	r, err := s.openReader(last)
	if err != nil {
		return err
	}
	if old != nil {
		old.Close()
	}
	s.mu.Lock()
	s.reader = r
	s.mu.Unlock()
	s.Follow(fail)
	return nil
}

// Close stops following and releases the reader and producer.
func (s *StateTopic) Close() {
	s.stopFollowing()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.producer != nil {
		s.producer.Close()
		s.producer = nil
	}
	if s.reader != nil {
		s.reader.Close()
		s.reader = nil
	}
}

// How long a new leader waits between attempts at a state topic's exclusive
// producer, which the previous leader may still hold. The Java worker waits
// 10 s for the assignments topic; a dead leader's producer is gone as soon as
// the broker sees its connection close, so we retry sooner.
const (
	LeaderRetryAssignments = time.Second
	LeaderRetryMetadata    = time.Second
)
