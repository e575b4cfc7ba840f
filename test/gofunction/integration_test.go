package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// These tests run the fixture against a real Pulsar standalone
// (PULSAR_SERVICE_URL / PULSAR_WEB_SERVICE_URL, see scripts/pulsar.sh); they
// skip without one, and fail under CI=true.

func pulsarClient(t *testing.T, p harness.Pulsar) pulsar.Client {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL, Logger: pulsarlog.NewLoggerWithSlog(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func topicName(prefix string) string {
	return "persistent://public/default/" + harness.UniqueName(prefix)
}

// outputReader subscribes to topic before the fixture publishes there.
func outputReader(t *testing.T, c pulsar.Client, topic string) pulsar.Consumer {
	t.Helper()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: "test-reader", Type: pulsar.Exclusive,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Close)
	return cons
}

func produce(t *testing.T, c pulsar.Client, topic string, payloads ...string) {
	t.Helper()
	prod, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, pl := range payloads {
		if _, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(pl)}); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
}

// receive returns n payloads from cons (acking them), failing after timeout.
func receive(t *testing.T, cons pulsar.Consumer, n int, timeout time.Duration) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []string
	for len(got) < n {
		msg, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("received %d of %d outputs: %v", len(got), n, err)
		}
		got = append(got, string(msg.Payload()))
		_ = cons.Ack(msg)
	}
	return got
}

// expectNoMore fails if cons gets another message within wait.
func expectNoMore(t *testing.T, cons pulsar.Consumer, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if msg, err := cons.Receive(ctx); err == nil {
		t.Errorf("unexpected extra output %q", msg.Payload())
	}
}

type subStats struct {
	MsgBacklog int64  `json:"msgBacklog"`
	Type       string `json:"type"`
	Consumers  []struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"consumers"`
}

// subscriptionStats reads the topic's subscriptions from the admin API.
func subscriptionStats(t *testing.T, p harness.Pulsar, topic string) map[string]subStats {
	t.Helper()
	path := "/admin/v2/persistent/" + strings.TrimPrefix(topic, "persistent://") + "/stats"
	code, body := p.Admin(t, http.MethodGet, path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var st struct {
		Subscriptions map[string]subStats `json:"subscriptions"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st.Subscriptions
}

func TestExclamationAgainstPulsar(t *testing.T) {
	p := harness.RequirePulsar(t)
	c := pulsarClient(t, p)
	in, out := topicName("gofn-in"), topicName("gofn-out")
	name := harness.UniqueName("exclaim")
	reader := outputReader(t, c, out)

	l := testLaunch(t, p.ServiceURL, 0)
	conf := javaGoInstanceConf(t, testDetails("public", "default", name, []string{in}, out, ""), l)
	proc := startFixture(t, "-instance-conf", conf) // the process runtime's argv: no quotes
	cl := controlClient(t, l.Port)
	waitServing(t, proc, cl, 60*time.Second) // subscribed (at LATEST) before gRPC serves

	const n = 100
	var sent, want []string
	for i := range n {
		sent = append(sent, fmt.Sprintf("msg-%03d", i))
		want = append(want, fmt.Sprintf("msg-%03d!", i))
	}
	produce(t, c, in, sent...)
	got := receive(t, reader, n, 60*time.Second)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("outputs = %q, want %q", got, want)
	}
	expectNoMore(t, reader, 500*time.Millisecond)

	var st *pb.FunctionStatus
	harness.Eventually(t, 10*time.Second, "numSuccessfullyProcessed = 100", func() error {
		st = call(t, cl.GetFunctionStatus)
		if st.GetNumSuccessfullyProcessed() != n {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	if !st.GetRunning() || st.GetNumReceived() != n || st.GetNumUserExceptions() != 0 ||
		st.GetNumSystemExceptions() != 0 || st.GetInstanceId() != "0" || st.GetLastInvocationTime() <= 0 ||
		st.GetAverageLatency() < 0 {
		t.Errorf("status = %v", st)
	}

	m := call(t, cl.GetAndResetMetrics)
	if m.GetReceivedTotal() != n || m.GetProcessedSuccessfullyTotal() != n || m.GetReceivedTotal_1Min() != n ||
		m.GetProcessedSuccessfullyTotal_1Min() != n || m.GetUserExceptionsTotal() != 0 || m.GetSystemExceptionsTotal() != 0 {
		t.Errorf("GetAndResetMetrics = %v", m)
	}
	if m := call(t, cl.GetMetrics); m.GetProcessedSuccessfullyTotal() != n || m.GetProcessedSuccessfullyTotal_1Min() != 0 {
		t.Errorf("after reset, GetMetrics = %v (totals kept, 1min reset)", m)
	}
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", l.MetricsPort))
	wantLine := fmt.Sprintf(`pulsar_function_processed_successfully_total{tenant="public",namespace="public/default",name="%s",instance_id="%s",cluster="standalone",fqfn="public/default/%s"} 100`, name, l.FuncID, name)
	if !strings.Contains(body, wantLine+"\n") {
		t.Errorf("metrics lack %q:\n%s", wantLine, body)
	}

	// The subscription is named as the Java worker names it, Shared, and
	// everything processed was acked.
	sub := "public/default/" + name
	harness.Eventually(t, 10*time.Second, "input backlog drained", func() error {
		s, ok := subscriptionStats(t, p, in)[sub]
		if !ok || s.MsgBacklog != 0 {
			return fmt.Errorf("subscriptions %v", subscriptionStats(t, p, in))
		}
		return nil
	})
	s := subscriptionStats(t, p, in)[sub]
	if s.Type != "Shared" || len(s.Consumers) != 1 || s.Consumers[0].Metadata["application"] != "pulsar-function" ||
		s.Consumers[0].Metadata["id"] != sub || s.Consumers[0].Metadata["instance_id"] != "0" {
		t.Errorf("subscription %s = %+v", sub, s)
	}

	proc.signal(t, syscall.SIGTERM)
	if code := proc.exitCode(t, 20*time.Second); code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	harness.Eventually(t, 10*time.Second, "consumer closed", func() error {
		if s := subscriptionStats(t, p, in)[sub]; len(s.Consumers) != 0 {
			return fmt.Errorf("%d consumers left", len(s.Consumers))
		}
		return nil
	})
}

func TestCrashAfterMessagesAgainstPulsar(t *testing.T) {
	p := harness.RequirePulsar(t)
	c := pulsarClient(t, p)
	in, out := topicName("gofn-crash-in"), topicName("gofn-crash-out")
	name := harness.UniqueName("crasher")
	reader := outputReader(t, c, out)

	l := testLaunch(t, p.ServiceURL, 0)
	conf := javaGoInstanceConf(t, testDetails("public", "default", name, []string{in}, out,
		`{"crashAfterMessages":5,"suffix":"?"}`), l)
	proc := startFixture(t, "-instance-conf", "'"+conf+"'") // the Kubernetes runtime's quoting
	waitServing(t, proc, controlClient(t, l.Port), 60*time.Second)

	var sent []string
	for i := range 10 {
		sent = append(sent, fmt.Sprintf("m%d", i))
	}
	produce(t, c, in, sent...)
	if code := proc.exitCode(t, 60*time.Second); code != exitCrash {
		t.Fatalf("exit code %d, want %d", code, exitCrash)
	}
	got := receive(t, reader, 5, 30*time.Second)
	if want := []string{"m0?", "m1?", "m2?", "m3?", "m4?"}; !slices.Equal(got, want) {
		t.Errorf("outputs = %q, want %q", got, want)
	}
	expectNoMore(t, reader, 500*time.Millisecond)
	// The five were acked before the crash (ack with response); the rest wait.
	if s := subscriptionStats(t, p, in)["public/default/"+name]; s.MsgBacklog != 5 {
		t.Errorf("backlog after crash = %d, want 5", s.MsgBacklog)
	}
}

func TestFailoverSubscriptionAndUserErrorAgainstPulsar(t *testing.T) {
	p := harness.RequirePulsar(t)
	c := pulsarClient(t, p)
	in1, in2, out := topicName("gofn-fo-a"), topicName("gofn-fo-b"), topicName("gofn-fo-out")
	name := harness.UniqueName("failover")
	reader := outputReader(t, c, out)

	fd := testDetails("public", "default", name, []string{in1, in2}, out, `{"failPayload":"boom"}`)
	fd.Source.SubscriptionType = pb.SubscriptionType_FAILOVER // what retainOrdering gives
	fd.Source.SubscriptionName = "custom-sub"
	fd.Source.SubscriptionPosition = pb.SubscriptionPosition_EARLIEST
	l := testLaunch(t, p.ServiceURL, 1)
	conf := javaGoInstanceConf(t, fd, l)
	produce(t, c, in1, "a") // before the function exists: EARLIEST must pick it up
	proc := startFixture(t, "-instance-conf", conf)
	cl := controlClient(t, l.Port)
	waitServing(t, proc, cl, 60*time.Second)
	produce(t, c, in2, "boom", "b")

	got := receive(t, reader, 2, 60*time.Second)
	slices.Sort(got)
	if want := []string{"a!", "b!"}; !slices.Equal(got, want) {
		t.Errorf("outputs = %q, want %q", got, want)
	}
	var st *pb.FunctionStatus
	harness.Eventually(t, 10*time.Second, "status counts", func() error {
		st = call(t, cl.GetFunctionStatus)
		if st.GetNumReceived() != 3 || st.GetNumSuccessfullyProcessed() != 2 || st.GetNumUserExceptions() != 1 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	if st.GetInstanceId() != "1" || len(st.GetLatestUserExceptions()) != 1 ||
		!strings.Contains(st.GetLatestUserExceptions()[0].GetExceptionString(), "boom") {
		t.Errorf("status = %v", st)
	}
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", l.MetricsPort))
	if !strings.Contains(body, `pulsar_function_user_exception{`) || !strings.Contains(body, `error="failPayload \"boom\" received"} 1`) {
		t.Errorf("metrics lack the user_exception gauge:\n%s", body)
	}
	for _, topic := range []string{in1, in2} {
		s, ok := subscriptionStats(t, p, topic)["custom-sub"]
		if !ok || s.Type != "Failover" {
			t.Errorf("%s: subscription custom-sub = %+v (present %v), want Failover", topic, s, ok)
		}
	}

	proc.signal(t, syscall.SIGTERM)
	if code := proc.exitCode(t, 20*time.Second); code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
