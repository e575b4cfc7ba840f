package fault

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// traffic is a live producer on the functions' input topic (one message
// every 20 ms) and a consumer of their output topic.
type traffic struct {
	mu       sync.Mutex
	acked    map[int]bool // sequence numbers the broker acknowledged
	received map[int]int  // sequence number -> outputs seen ("m-<n>!")
	next     int
	stopSend func() // stops the producer; the consumer goes on
	stop     func()
}

func startTraffic(t *testing.T, serviceURL, in, out string) *traffic {
	t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: serviceURL, OperationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := client.Subscribe(pulsar.ConsumerOptions{Topic: out, SubscriptionName: "fault-check",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: in, DisableBatching: true, SendTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr := &traffic{acked: map[int]bool{}, received: map[int]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	sendCtx, cancelSend := context.WithCancel(ctx)
	var wg, sendWg sync.WaitGroup
	wg.Add(1)
	sendWg.Add(1)
	go func() {
		defer sendWg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-tick.C:
			}
			tr.mu.Lock()
			seq := tr.next
			tr.next++
			tr.mu.Unlock()
			sctx, scancel := context.WithTimeout(sendCtx, 30*time.Second)
			_, err := producer.Send(sctx, &pulsar.ProducerMessage{Payload: []byte("m-" + strconv.Itoa(seq))})
			scancel()
			if err == nil {
				tr.mu.Lock()
				tr.acked[seq] = true
				tr.mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			m, err := consumer.Receive(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			_ = consumer.Ack(m)
			seq, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(string(m.Payload()), "m-"), "!"))
			if err == nil {
				tr.mu.Lock()
				tr.received[seq]++
				tr.mu.Unlock()
			}
		}
	}()
	tr.stopSend = sync.OnceFunc(func() {
		cancelSend()
		sendWg.Wait()
		producer.Close()
	})
	tr.stop = sync.OnceFunc(func() {
		tr.stopSend()
		cancel()
		wg.Wait()
		consumer.Close()
		client.Close()
	})
	t.Cleanup(tr.stop)
	return tr
}

// missing stops the producer, waits (up to timeout) until every message the
// broker acknowledged came out of the functions, and returns how many did not, how many
// were acknowledged and how many came out more than once (at-least-once
// allows that).
func (tr *traffic) missing(timeout time.Duration) (missing, acked, dups int) {
	tr.stopSend()
	tr.mu.Lock()
	want := make([]int, 0, len(tr.acked))
	for seq := range tr.acked {
		want = append(want, seq)
	}
	tr.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		missing, dups = 0, 0
		tr.mu.Lock()
		for _, seq := range want {
			switch n := tr.received[seq]; {
			case n == 0:
				missing++
			case n > 1:
				dups++
			}
		}
		tr.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			return missing, len(want), dups
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestBrokerFaults runs against the suite's own standalone, started by
// TestMain in the background. Two workers run a function with two instances
// under a live producer; the broker is frozen (SIGSTOP) for 10 s, ten
// health-check intervals, then restarted (stopped with SIGTERM and started
// again on its data, which takes a minute or more). After each, every check
// must hold again, and every message the broker acknowledged must come out of
// the function.
func TestBrokerFaults(t *testing.T) {
	t.Parallel()
	p := ownStandalone.get(t)
	res := experiment(t, "broker frozen 10 s, then restarted; live producer")
	c := newCluster(t, p, res, 2, nil)
	c.out = "persistent://" + c.ns + "/out"
	expect := map[string]fate{"relay": present(2)}
	if code, body, err := c.submit(c.live()[0], http.MethodPost, "relay", 2, false); err != nil || !ok(code) {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	c.converge("setup", time.Now(), 2*time.Minute, expect)
	tr := startTraffic(t, p.ServiceURL, c.in, c.out)
	flowing := func(what string) {
		t.Helper()
		tr.mu.Lock()
		from := tr.next
		tr.mu.Unlock()
		harness.Eventually(t, 3*time.Minute, what, func() error {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			for seq := range tr.received {
				if seq >= from {
					return nil
				}
			}
			return fmt.Errorf("no output of a message sent after #%d yet (%d sent)", from, tr.next)
		})
	}
	flowing("outputs before the faults")

	var gone []string
	for _, fault := range []string{"frozen", "restarted"} {
		start := time.Now()
		switch fault {
		case "frozen":
			if err := ownStandalone.signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Second) // the fault itself: how long the broker is gone
			if err := ownStandalone.signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		case "restarted":
			if err := ownStandalone.restart(); err != nil {
				t.Fatal(err)
			}
		}
		back := time.Now()
		gone = append(gone, fmt.Sprintf("%s %s", fault, back.Sub(start).Round(100*time.Millisecond)))
		t.Logf("broker %s; back after %s", fault, back.Sub(start).Round(100*time.Millisecond))
		c.converge("broker "+fault, back, 3*time.Minute, expect)
		// Messages sent now flow through the functions again.
		flowing("outputs after the broker was " + fault)
		res.recovered(time.Since(back))
		if t.Failed() {
			break
		}
	}
	missing, acked, dups := tr.missing(2 * time.Minute)
	tr.stop()
	if missing > 0 {
		res.lost += missing
		t.Errorf("%d of %d acknowledged messages never came out", missing, acked)
	}
	c.countExits()
	res.note = fmt.Sprintf("broker gone: %s; messages: %d acknowledged, %d lost, %d delivered twice (at-least-once)",
		strings.Join(gone, ", "), acked, missing, dups)
}
