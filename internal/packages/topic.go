package packages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Package topic layout (format 1): segment messages, then one manifest.
const (
	segmentSize = 1 << 20 // well below the broker's 5 MB default maxMessageSize
	// sendWindow bounds the segments in flight, and so the memory an upload holds.
	sendWindow = 16

	propKind     = "pulsar-functions-worker.package" // "segment" or "manifest"
	propSeq      = "seq"
	propSHA256   = "sha256"
	propSize     = "size"
	propSegments = "segments"
	propFileName = "fileName"
	propFormat   = "format"
	// keeperSubscription never acknowledges, so no inactive-topic sweep or
	// retention setting can remove a package that is still registered.
	keeperSubscription = "pulsar-functions-worker-package"
)

// manifest is what the last message of a package topic says.
type manifest struct {
	sha256   string
	size     int64
	segments int
	fileName string
}

var unsafeTopicChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newTopicName names a package topic after its component, for operators, plus
// a random part, because every upload gets a topic of its own.
func (s *Store) newTopicName(fd *pb.FunctionDetails) string {
	slug := unsafeTopicChars.ReplaceAllString(fd.GetTenant()+"."+fd.GetNamespace()+"."+fd.GetName(), "_")
	if len(slug) > 120 {
		slug = slug[:120]
	}
	return fmt.Sprintf("%s%s/package-%s-%s", topicScheme, s.opts.FunctionsNamespace, slug, randomHex(8))
}

func (s *Store) uploadTopic(ctx context.Context, md *pb.FunctionMetaData, ct pb.FunctionDetails_ComponentType, r io.Reader, fileName string) (loc *pb.PackageLocationMetaData, err error) {
	if err := s.needBroker(); err != nil {
		return nil, err
	}
	if s.opts.FunctionsNamespace == "" {
		return nil, errors.New("upload package: pulsarFunctionsNamespace is not set")
	}
	fd := md.GetFunctionDetails()
	topic := s.newTopicName(fd)
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, fmt.Errorf("upload package: topic %s: %w", topic, err)
	}
	fqfn := fd.GetTenant() + "/" + fd.GetNamespace() + "/" + fd.GetName()
	start := time.Now()
	props := map[string]string{"pulsar-functions-worker.function": fqfn, "pulsar-functions-worker.fileName": fileName}
	if err := s.admin.Topics().CreateWithPropertiesWithContext(ctx, *tn, 0, props); err != nil {
		return nil, fmt.Errorf("upload package to %s: create topic: %w", topic, err)
	}
	defer func() {
		if err == nil {
			return
		}
		// Leave nothing behind: the metadata will never point at this topic.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := s.admin.Topics().DeleteWithContext(dctx, *tn, true, true); derr != nil && broker.StatusCode(derr) != http.StatusNotFound {
			s.log.Warn("could not delete the topic of a failed upload", "topic", topic, "err", derr)
		}
	}()
	persistence, err := s.prepareTopic(ctx, tn)
	if err != nil {
		return nil, fmt.Errorf("upload package to %s: %w", topic, err)
	}
	prod, err := s.createProducer(ctx, tn, persistence)
	if err != nil {
		return nil, fmt.Errorf("upload package to %s: %w", topic, err)
	}
	defer prod.Close()
	m, err := writeSegments(ctx, prod, &limitReader{r: r, limit: s.maxBytes})
	if err != nil {
		return nil, fmt.Errorf("upload package to %s: %w", topic, err)
	}
	m.fileName = fileName
	_, err = prod.Send(ctx, &pulsar.ProducerMessage{Properties: map[string]string{
		propKind:          "manifest",
		propFormat:        "1",
		propSHA256:        m.sha256,
		propSize:          strconv.FormatInt(m.size, 10),
		propSegments:      strconv.Itoa(m.segments),
		propFileName:      fileName,
		"function":        fqfn,
		"componentType":   ct.String(),
		"metadataVersion": strconv.FormatUint(md.GetVersion(), 10),
	}})
	if err != nil {
		return nil, fmt.Errorf("upload package to %s: manifest: %w", topic, err)
	}
	took := time.Since(start)
	s.log.Info("package stored", "function", fqfn, "topic", topic, "bytes", m.size, "sha256", m.sha256,
		"took", took.Round(time.Millisecond), "MiB/s", mibPerSec(m.size, took))
	return &pb.PackageLocationMetaData{PackagePath: topic, OriginalFileName: fileName}, nil
}

// prepareTopic makes the new topic keep its messages for good and sets its
// replication; it reports whether a persistence policy was set.
func (s *Store) prepareTopic(ctx context.Context, tn *utils.TopicName) (bool, error) {
	topics := s.admin.Topics()
	policies := true
	if err := topics.SetRetentionWithContext(ctx, *tn, utils.RetentionPolicies{RetentionTimeInMinutes: -1, RetentionSizeInMB: -1}); err != nil {
		if broker.StatusCode(err) != http.StatusMethodNotAllowed {
			return false, fmt.Errorf("set infinite retention: %w", err)
		}
		// topicLevelPoliciesEnabled=false: only the subscription below keeps the package.
		policies = false
		s.log.Warn("topic-level policies are disabled on the broker: package topics rely on a subscription alone; "+
			"a messageTTL on the functions namespace would let the broker trim them", "namespace", s.opts.FunctionsNamespace)
	}
	if policies {
		mode := utils.DeleteWhenNoSubscriptions
		if err := topics.SetInactiveTopicPoliciesWithContext(ctx, *tn, utils.InactiveTopicPolicies{
			InactiveTopicDeleteMode: &mode, DeleteWhileInactive: false,
		}); err != nil {
			s.log.Warn("could not exempt package topic from inactive-topic deletion; its subscription still keeps it", "topic", tn.String(), "err", err)
		}
	}
	if err := s.admin.Subscriptions().CreateWithContext(ctx, *tn, keeperSubscription, utils.Earliest); err != nil &&
		broker.StatusCode(err) != http.StatusConflict {
		return false, fmt.Errorf("create subscription %s: %w", keeperSubscription, err)
	}
	if !policies || s.opts.Replicas <= 0 {
		return false, nil
	}
	replicas := s.opts.Replicas
	if !s.skipBookieCheck {
		if n := s.countBookies(ctx); n > 0 && n < replicas {
			s.log.Warn("fewer bookies than numFunctionPackageReplicas: packages get one copy per bookie",
				"numFunctionPackageReplicas", s.opts.Replicas, "bookies", n)
			replicas = n
		}
	}
	want := utils.PersistenceData{BookkeeperEnsemble: int64(replicas), BookkeeperWriteQuorum: int64(replicas), BookkeeperAckQuorum: int64(replicas)}
	if err := topics.SetPersistenceWithContext(ctx, *tn, want); err != nil {
		s.log.Warn("broker refused the package topic's persistence policy; using the namespace's",
			"topic", tn.String(), "numFunctionPackageReplicas", replicas, "err", err)
		return false, nil
	}
	// The topic's first ledger was opened with the namespace's settings; reload
	// the topic so the package lands in a ledger with ours.
	if err := s.reloadWith(ctx, tn, replicas); err != nil {
		return false, err
	}
	return true, nil
}

// reloadWith waits until the broker applies the persistence policy (topic
// policies travel through a system topic), then unloads the topic so its next
// ledger uses it.
func (s *Store) reloadWith(ctx context.Context, tn *utils.TopicName, ensemble int) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := s.admin.Topics().GetPersistenceWithContext(ctx, *tn)
		if err == nil && ((p == nil && ensemble == 0) || (p != nil && int(p.BookkeeperEnsemble) == ensemble)) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("persistence policy of %s not applied after 15 s (last error: %v)", tn, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := s.admin.Topics().UnloadWithContext(ctx, *tn); err != nil {
		return fmt.Errorf("unload %s: %w", tn, err)
	}
	return nil
}

// createProducer opens the package producer; when ledgers cannot be created
// with our replication (not enough bookies for the ensemble, say), it drops
// the topic's persistence policy and tries again with the namespace's.
func (s *Store) createProducer(ctx context.Context, tn *utils.TopicName, persistence bool) (pulsar.Producer, error) {
	opts := pulsar.ProducerOptions{
		Topic:              tn.String(),
		DisableBatching:    true,
		EnableChunking:     true, // for brokers whose maxMessageSize is below a segment
		MaxPendingMessages: sendWindow,
		SendTimeout:        time.Minute,
		CompressionType:    pulsar.NoCompression, // jars, zips and binaries hardly compress
	}
	prod, err := s.client.CreateProducer(opts)
	if err == nil || !persistence {
		if err != nil {
			return nil, fmt.Errorf("create producer: %w", err)
		}
		return prod, nil
	}
	s.log.Warn("cannot write the package topic with numFunctionPackageReplicas copies; using the namespace's persistence",
		"topic", tn.String(), "numFunctionPackageReplicas", s.opts.Replicas, "err", err)
	if rerr := s.admin.Topics().RemovePersistenceWithContext(ctx, *tn); rerr != nil {
		return nil, fmt.Errorf("create producer: %w (and removing the persistence policy failed: %v)", err, rerr)
	}
	if rerr := s.reloadWith(ctx, tn, 0); rerr != nil {
		return nil, fmt.Errorf("create producer: %w (then: %v)", err, rerr)
	}
	prod, err = s.client.CreateProducer(opts)
	if err != nil {
		return nil, fmt.Errorf("create producer: %w", err)
	}
	return prod, nil
}

// writeSegments sends r as numbered segment messages, at most sendWindow in
// flight, and returns the manifest of what was sent.
func writeSegments(ctx context.Context, prod pulsar.Producer, r io.Reader) (manifest, error) {
	var (
		m       manifest
		h       = sha256.New()
		mu      sync.Mutex
		sendErr error
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return sendErr
	}
	for seq := 0; ; seq++ {
		if err := failed(); err != nil {
			return m, err
		}
		buf := make([]byte, segmentSize) // the client keeps it until the broker acks
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			m.size += int64(n)
			m.segments++
			prod.SendAsync(ctx, &pulsar.ProducerMessage{
				Payload:    buf[:n],
				Properties: map[string]string{propKind: "segment", propSeq: strconv.Itoa(seq)},
			}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					mu.Lock()
					if sendErr == nil {
						sendErr = fmt.Errorf("segment %d: %w", seq, err)
					}
					mu.Unlock()
				}
			})
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return m, err
		}
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		return m, fmt.Errorf("flush: %w", err)
	}
	if err := failed(); err != nil {
		return m, err
	}
	m.sha256 = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

// topicExists tells a missing package apart before a reader would create the
// topic anew (brokers auto-create topics on subscribe by default).
func (s *Store) topicExists(ctx context.Context, p Path) error {
	tn, err := utils.GetTopicName(p.Raw)
	if err != nil {
		return err
	}
	if _, err := s.admin.Topics().GetStatsWithContext(ctx, *tn); err != nil {
		if broker.StatusCode(err) == http.StatusNotFound {
			return fmt.Errorf("%w: topic %s does not exist", ErrNotFound, p.Raw)
		}
		return fmt.Errorf("topic %s: %w", p.Raw, err)
	}
	return nil
}

// readTopic copies a package topic's segments to w and checks them against
// its manifest.
func (s *Store) readTopic(ctx context.Context, p Path, w io.Writer) (manifest, error) {
	var m manifest
	rd, err := s.client.CreateReader(pulsar.ReaderOptions{
		Topic:             p.Raw,
		StartMessageID:    pulsar.EarliestMessageID(),
		ReceiverQueueSize: sendWindow, // bounds the memory a download holds
	})
	if err != nil {
		return m, fmt.Errorf("reader: %w", err)
	}
	defer rd.Close()
	h := sha256.New()
	var size int64
	next := 0
	for {
		if !rd.HasNext() {
			return m, fmt.Errorf("%s ends before its manifest: the broker could not be read, or the upload never finished", p.Raw)
		}
		msg, err := rd.Next(ctx)
		if err != nil {
			return m, fmt.Errorf("read: %w", err)
		}
		props := msg.Properties()
		switch props[propKind] {
		case "segment":
			seq, err := strconv.Atoi(props[propSeq])
			if err != nil {
				return m, fmt.Errorf("%w: segment without a sequence number at %v", ErrCorrupt, msg.ID())
			}
			if seq < next {
				continue // a producer's resend after a reconnect
			}
			if seq > next {
				return m, fmt.Errorf("%w: segment %d missing (got %d)", ErrCorrupt, next, seq)
			}
			if _, err := w.Write(msg.Payload()); err != nil {
				return m, err
			}
			h.Write(msg.Payload())
			size += int64(len(msg.Payload()))
			next++
		case "manifest":
			if props[propFormat] != "1" {
				return m, fmt.Errorf("%w: unknown package format %q", ErrCorrupt, props[propFormat])
			}
			m.sha256 = props[propSHA256]
			m.fileName = props[propFileName]
			m.size, _ = strconv.ParseInt(props[propSize], 10, 64)
			m.segments, _ = strconv.Atoi(props[propSegments])
			got := hex.EncodeToString(h.Sum(nil))
			if m.segments != next || m.size != size || got != m.sha256 {
				return m, fmt.Errorf("%w: read %d segments, %d bytes, sha256 %s; manifest says %d, %d, %s",
					ErrCorrupt, next, size, got, m.segments, m.size, m.sha256)
			}
			return m, nil
		default:
			return m, fmt.Errorf("%w: unexpected message %v in %s", ErrCorrupt, msg.ID(), p.Raw)
		}
	}
}

func (s *Store) deleteTopic(ctx context.Context, p Path) error {
	if err := s.needBroker(); err != nil {
		return err
	}
	tn, err := utils.GetTopicName(p.Raw)
	if err != nil {
		return fmt.Errorf("delete package %s: %w", p.Raw, err)
	}
	if err := s.admin.Topics().DeleteWithContext(ctx, *tn, true, true); err != nil {
		if broker.StatusCode(err) == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("delete package %s: %w", p.Raw, err)
	}
	s.log.Info("package deleted", "topic", p.Raw)
	return nil
}

// countBookies asks the broker how many bookies are registered; 0 when it cannot tell.
func (s *Store) countBookies(ctx context.Context) int {
	if s.opts.WebServiceURL == "" {
		return 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimSlash(s.opts.WebServiceURL)+"/admin/v2/bookies/all", nil)
	if err != nil {
		return 0
	}
	resp, err := s.brokerHTTP.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	var info struct {
		Bookies []struct {
			BookieID string `json:"bookieId"`
		} `json:"bookies"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return 0
	}
	return len(info.Bookies)
}

func mibPerSec(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)/(1<<20)/d.Seconds(), 'f', 1, 64)
}
