package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"google.golang.org/grpc"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// stopTimeout bounds how long a stop waits for the message in flight; the
// Java worker sends SIGKILL 10 s after SIGTERM anyway.
const stopTimeout = 10 * time.Second

type instance struct {
	settings        *Settings
	log             *slog.Logger
	stats           *stats
	lastHealthCheck atomic.Int64 // UnixNano
	// busy is held while a message is being handled, so a stop never
	// closes the producer under a publish.
	busy chan struct{}
	msgs chan pulsar.ConsumerMessage

	mu         sync.Mutex // guards the fields below against close()
	closed     bool
	client     pulsar.Client
	producer   pulsar.Producer
	consumers  []pulsar.Consumer
	grpcServer *grpc.Server
	httpServer *http.Server
}

func newInstance(s *Settings, log *slog.Logger) *instance {
	inst := &instance{
		settings: s,
		log:      log,
		stats:    &stats{},
		busy:     make(chan struct{}, 1),
		msgs:     make(chan pulsar.ConsumerMessage), // unbuffered, as in the SDK
	}
	inst.lastHealthCheck.Store(time.Now().UnixNano())
	return inst
}

// run sets everything up in the Go SDK's order (client, producer, consumers,
// gRPC server, metrics server) and processes messages until a signal, an
// idle timeout, missed health checks or a crash knob ends the process. It
// returns only on setup failures.
func (inst *instance) run(sigs <-chan os.Signal) int {
	go func() {
		sig := <-sigs
		inst.log.Info("gofunction: signal received, closing", "signal", sig.String())
		inst.stopAndExit(exitOK)
	}()
	if iv := inst.settings.Conf.ExpectedHealthCheckInterval; iv > 0 {
		go inst.healthCheckWatchdog(time.Duration(iv) * time.Second)
	}

	if err := inst.setup(); err != nil {
		inst.log.Error("gofunction: setup failed", "err", err)
		inst.stats.addException(false, err)
		inst.close()
		return exitFatal
	}
	inst.log.Info("gofunction: running", "fqfn", inst.settings.FQFN(), "instanceID", inst.settings.Conf.InstanceID)

	var idle <-chan time.Time
	var idleTimer *time.Timer
	idleDur := time.Duration(inst.settings.Conf.KillAfterIdleMs) * time.Millisecond
	if idleDur > 0 {
		idleTimer = time.NewTimer(idleDur)
		idle = idleTimer.C
	}
	for {
		select {
		case cm := <-inst.msgs:
			inst.busy <- struct{}{}
			inst.handle(cm)
			<-inst.busy
			if idleTimer != nil {
				idleTimer.Reset(idleDur)
			}
		case <-idle:
			inst.log.Info("gofunction: no message for killAfterIdleMs, closing", "killAfterIdleMs", inst.settings.Conf.KillAfterIdleMs)
			inst.stopAndExit(exitOK)
		}
	}
}

// stopAndExit waits (bounded) for the message in flight, closes everything
// and exits the process.
func (inst *instance) stopAndExit(code int) {
	select {
	case inst.busy <- struct{}{}:
	case <-time.After(stopTimeout):
		inst.log.Warn("gofunction: message still in flight, closing anyway")
	}
	inst.close()
	inst.log.Info("gofunction: exiting", "code", code)
	os.Exit(code)
}

func (inst *instance) healthCheckWatchdog(interval time.Duration) {
	maxIdle := 3 * interval
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for range tk.C {
		since := time.Since(time.Unix(0, inst.lastHealthCheck.Load()))
		if since > maxIdle {
			inst.log.Error("gofunction: haven't received health check from spawner in a while, stopping instance",
				"sinceLastHealthCheck", since.Round(time.Millisecond).String(), "max", maxIdle.String())
			inst.stopAndExit(exitOK)
		}
	}
}

func (inst *instance) close() {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.closed {
		return
	}
	inst.closed = true
	if inst.grpcServer != nil {
		inst.grpcServer.Stop()
	}
	if inst.httpServer != nil {
		_ = inst.httpServer.Close()
	}
	for _, c := range inst.consumers {
		c.Close()
	}
	if inst.producer != nil {
		inst.producer.Close()
	}
	if inst.client != nil {
		inst.client.Close()
	}
}

var errClosed = errors.New("closed during setup")

// keep records a resource made during setup; if a stop already happened it
// returns errClosed (the caller's resource is closed by the exit).
func (inst *instance) keep(f func()) error {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.closed {
		return errClosed
	}
	f()
	return nil
}

func (inst *instance) setup() error {
	s := inst.settings
	c := s.Conf
	d := s.Details

	opts := pulsar.ClientOptions{
		URL:                        c.PulsarServiceURL,
		TLSTrustCertsFilePath:      c.TLSTrustCertsFilePath,
		TLSAllowInsecureConnection: c.TLSAllowInsecureConnection,
		TLSValidateHostname:        c.TLSHostnameVerificationEnable,
		Logger:                     pulsarlog.NewLoggerWithSlog(inst.log.With("component", "pulsar-client")),
	}
	if plugin, params := s.AuthPlugin(); plugin != "" {
		auth, err := pulsar.NewAuthentication(plugin, params)
		if err != nil {
			return fmt.Errorf("client authentication %s: %w", plugin, err)
		}
		opts.Authentication = auth
	}
	client, err := pulsar.NewClient(opts)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if err := inst.keep(func() { inst.client = client }); err != nil {
		client.Close()
		return err
	}

	props := map[string]string{
		"application": "pulsar-function",
		"id":          s.FQFN(),
		"instance_id": strconv.Itoa(c.InstanceID),
	}

	if topic := d.GetSink().GetTopic(); topic != "" {
		p, err := client.CreateProducer(pulsar.ProducerOptions{
			Topic:                   topic,
			Properties:              props,
			CompressionType:         pulsar.LZ4,
			BatchingMaxPublishDelay: 10 * time.Millisecond,
		})
		if err != nil {
			return fmt.Errorf("create producer on %s: %w", topic, err)
		}
		if err := inst.keep(func() { inst.producer = p }); err != nil {
			p.Close()
			return err
		}
	}

	subType := pulsar.Shared
	switch d.GetSource().GetSubscriptionType() {
	case pb.SubscriptionType_FAILOVER:
		subType = pulsar.Failover
	case pb.SubscriptionType_KEY_SHARED:
		subType = pulsar.KeyShared
	}
	position := pulsar.SubscriptionPositionLatest
	if d.GetSource().GetSubscriptionPosition() == pb.SubscriptionPosition_EARLIEST {
		position = pulsar.SubscriptionPositionEarliest
	}
	for _, topic := range s.Inputs() {
		spec := d.GetSource().GetInputSpecs()[topic]
		co := pulsar.ConsumerOptions{
			SubscriptionName:            s.SubscriptionName(),
			Type:                        subType,
			SubscriptionInitialPosition: position,
			Properties:                  props,
			MessageChannel:              inst.msgs,
			AckWithResponse:             true, // acked means acked before a crash knob exits
		}
		if spec.GetIsRegexPattern() {
			co.TopicsPattern = topic
		} else {
			co.Topic = topic
		}
		if q := spec.GetReceiverQueueSize().GetValue(); q > 0 {
			co.ReceiverQueueSize = int(q)
		}
		cons, err := client.Subscribe(co)
		if err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", s.SubscriptionName(), topic, err)
		}
		if err := inst.keep(func() { inst.consumers = append(inst.consumers, cons) }); err != nil {
			cons.Close()
			return err
		}
	}

	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)))
	if err != nil {
		return fmt.Errorf("gRPC listen: %w", err)
	}
	gs := grpc.NewServer()
	pb.RegisterInstanceControlServer(gs, &controlServer{inst: inst})
	if err := inst.keep(func() { inst.grpcServer = gs }); err != nil {
		lis.Close()
		return err
	}
	go func() {
		if err := gs.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			inst.log.Error("gofunction: gRPC server failed", "err", err)
			os.Exit(exitFatal)
		}
	}()
	inst.log.Info("gofunction: serving InstanceControl", "addr", lis.Addr().String())

	if c.MetricsPort > 0 {
		// All interfaces, like the SDK: the Java worker scrapes
		// http://<InetAddress.getLocalHost()>:<metricsPort>/.
		ml, err := net.Listen("tcp", ":"+strconv.Itoa(c.MetricsPort))
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		hs := &http.Server{Handler: inst.metricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		if err := inst.keep(func() { inst.httpServer = hs }); err != nil {
			ml.Close()
			return err
		}
		go func() {
			if err := hs.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				inst.log.Error("gofunction: metrics server failed", "err", err)
				os.Exit(exitFatal)
			}
		}()
		inst.log.Info("gofunction: serving metrics", "addr", ml.Addr().String())
	}
	return nil
}

// function is the user function: payload + suffix, or a user error.
func (inst *instance) function(in []byte) ([]byte, error) {
	u := inst.settings.User
	if u.ProcessDelayMs > 0 {
		time.Sleep(time.Duration(u.ProcessDelayMs) * time.Millisecond)
	}
	if u.FailPayload != "" && string(in) == u.FailPayload {
		return nil, fmt.Errorf("failPayload %q received", u.FailPayload)
	}
	out := make([]byte, 0, len(in)+len(u.Suffix))
	return append(append(out, in...), u.Suffix...), nil
}

func (inst *instance) ack(cm pulsar.ConsumerMessage) {
	if err := cm.Consumer.Ack(cm.Message); err != nil {
		inst.stats.addException(false, fmt.Errorf("ack: %w", err))
		inst.log.Warn("gofunction: ack failed", "msgID", cm.Message.ID().String(), "err", err)
	}
}

func (inst *instance) handle(cm pulsar.ConsumerMessage) {
	d := inst.settings.Details
	atMostOnce := d.GetProcessingGuarantees() == pb.ProcessingGuarantees_ATMOST_ONCE
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	if atMostOnce && d.GetAutoAck() {
		inst.ack(cm)
	}
	inst.stats.incReceived()

	start := time.Now()
	out, err := inst.function(cm.Message.Payload())
	if err != nil {
		// The SDK nacks and exits 1 here; the fixture keeps running so the
		// status shows the user exception, and acks so it is not redelivered.
		inst.stats.addException(true, err)
		inst.log.Warn("gofunction: user exception", "msgID", cm.Message.ID().String(), "err", err)
		if !atMostOnce {
			inst.ack(cm)
		}
		return
	}
	inst.stats.observeLatency(time.Since(start))

	if topic := d.GetSink().GetTopic(); topic != "" {
		// As Java instances and the Go SDK do: the worker's trigger finds the
		// output of its input message by these.
		props := map[string]string{
			"__pfn_input_topic__":  cm.Message.Topic(),
			"__pfn_input_msg_id__": base64.StdEncoding.EncodeToString(cm.Message.ID().Serialize()),
		}
		if _, err := inst.producer.Send(context.Background(), &pulsar.ProducerMessage{Payload: out, Properties: props}); err != nil {
			inst.stats.addException(false, err)
			if !atMostOnce {
				cm.Consumer.Nack(cm.Message)
			}
			inst.log.Error("gofunction: publish failed, exiting 1 (as the SDK's log.Fatal)", "topic", topic, "err", err)
			os.Exit(exitFatal)
		}
	}
	// At-least-once and MANUAL (our "user code" acks): ack after publishing.
	if !atMostOnce {
		inst.ack(cm)
	}
	n := inst.stats.incProcessed()
	inst.log.Debug("gofunction: processed", "msgID", cm.Message.ID().String(), "n", n)
	if k := inst.settings.User.CrashAfterMessages; k > 0 && n >= k {
		inst.log.Error("gofunction: crashAfterMessages reached, exiting 3", "processed", n)
		os.Exit(exitCrash)
	}
}
