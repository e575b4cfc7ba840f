package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/packages"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

// Java's trigger: the answer must come within a second of the first one
// read, and the first read waits up to ten.
const (
	triggerWindow    = time.Second
	triggerFirstRead = 10 * time.Second
)

// Properties a function instance sets on what it produces.
const (
	propInputTopic = "__pfn_input_topic__"
	propInputMsgID = "__pfn_input_msg_id__"
)

// Lifecycle is the backend of stats, trigger, restart and the package
// endpoints by path.
type Lifecycle struct{ P *Parts }

var _ api.LifecycleBackend = Lifecycle{}

func (l Lifecycle) LocalInstanceMetrics(ctx context.Context, fqfn string, instanceID int) (*pb.MetricsData, error) {
	m, err := l.P.Runtime.Metrics(ctx, fqfn, instanceID)
	if errors.Is(err, runtime.ErrNotFound) || errors.Is(err, runtime.ErrNotRunning) {
		return nil, nil
	}
	return m, err
}

func (l Lifecycle) RestartLocalInstance(fqfn string, instanceID int) error {
	err := l.P.Runtime.Restart(fqfn, instanceID)
	if errors.Is(err, runtime.ErrNotFound) || errors.Is(err, runtime.ErrNotRunning) {
		l.P.Log.Info("restart of an instance that does not run here", "function", fqfn, "instance", instanceID, "reason", err)
		return nil
	}
	return err
}

func (l Lifecycle) TopicReady(ctx context.Context, topic string) error {
	c := l.P.conn()
	if c == nil {
		return errNotConnected
	}
	_, err := c.Admin.Subscriptions(ctx, topic)
	return err
}

// Trigger is Java's triggerFunction: a reader on the output topic from its
// end, the payload produced to the input topic, then the first output whose
// input properties name that message.
func (l Lifecycle) Trigger(ctx context.Context, req api.TriggerRequest) ([]byte, error) {
	c := l.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	in, err := utils.GetTopicName(req.InputTopic)
	if err != nil {
		return nil, fmt.Errorf("trigger %s: input topic %q: %w", req.FQFN, req.InputTopic, err)
	}
	name := l.P.Self.WorkerID + "-trigger-" + req.FQFN
	var rd pulsar.Reader
	if req.OutputTopic != "" {
		rd, err = c.Client.CreateReader(pulsar.ReaderOptions{
			Topic:          req.OutputTopic,
			StartMessageID: pulsar.LatestMessageID(),
			Name:           name,
		})
		if err != nil {
			return nil, fmt.Errorf("trigger %s: reader on %s: %w", req.FQFN, req.OutputTopic, err)
		}
		defer rd.Close()
	}
	prod, err := c.Client.CreateProducer(pulsar.ProducerOptions{Topic: in.String(), DisableBatching: true})
	if err != nil {
		return nil, fmt.Errorf("trigger %s: producer on %s: %w", req.FQFN, in, err)
	}
	defer prod.Close()
	sent, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: req.Payload})
	if err != nil {
		return nil, fmt.Errorf("trigger %s: send to %s: %w", req.FQFN, in, err)
	}
	if rd == nil {
		return nil, nil
	}
	start := time.Now()
	for time.Since(start) < triggerWindow {
		rctx, cancel := context.WithTimeout(ctx, triggerFirstRead)
		msg, err := rd.Next(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			break
		}
		props := msg.Properties()
		if props[propInputTopic] != in.String() || !sameMessage(props[propInputMsgID], sent) {
			continue
		}
		out := msg.Payload()
		if out == nil {
			out = []byte{}
		}
		return out, nil
	}
	return nil, api.ErrTriggerTimeout
}

// sameMessage tells whether encoded (base64 of a serialized MessageIdData,
// as instances write it) names id. A message that was not batched has batch
// index -1 on one side and may have 0 on the other.
func sameMessage(encoded string, id pulsar.MessageID) bool {
	if encoded == "" {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return false
	}
	got, err := pulsar.DeserializeMessageID(raw)
	if err != nil {
		return false
	}
	return got.LedgerID() == id.LedgerID() && got.EntryID() == id.EntryID() &&
		max(got.BatchIdx(), 0) == max(id.BatchIdx(), 0)
}

func (l Lifecycle) UploadPath(ctx context.Context, path string, r io.Reader) error {
	c := l.P.conn()
	if c == nil {
		return errNotConnected
	}
	if err := c.Packages.UploadAt(ctx, path, r); err != nil {
		return mapPackageError(err)
	}
	return nil
}

func (l Lifecycle) OpenPath(ctx context.Context, path string) (io.ReadCloser, error) {
	c := l.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	return openPackage(c.Packages.OpenAt(ctx, path))
}

func (l Lifecycle) OpenPackage(ctx context.Context, location string) (io.ReadCloser, error) {
	c := l.P.conn()
	if c == nil {
		return nil, errNotConnected
	}
	return openPackage(c.Packages.Open(ctx, &pb.PackageLocationMetaData{PackagePath: location}))
}

func openPackage(rc io.ReadCloser, err error) (io.ReadCloser, error) {
	if errors.Is(err, packages.ErrNotFound) {
		return nil, fmt.Errorf("%w: %v", api.ErrPackageNotFound, err)
	}
	if err != nil {
		return nil, mapPackageError(err)
	}
	return rc, nil
}
