package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// load sends numbered messages to a function's input at a steady rate and
// records when each numbered output comes back.
type load struct {
	name, in, out string
	schema        bool

	mu       sync.Mutex
	sent     int
	received map[int]int // sequence number -> times received
	times    []time.Time // receipt times, in order

	stopSend, stopRecv func() // stop the producer, the consumer (each once)
}

// start starts sending one message every period and receiving the outputs.
func (l *load) start(t *testing.T, client pulsar.Client, every time.Duration) {
	t.Helper()
	copts := pulsar.ConsumerOptions{Topic: l.out, SubscriptionName: "migration",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	popts := pulsar.ProducerOptions{Topic: l.in, DisableBatching: true}
	if l.schema {
		copts.Schema, popts.Schema = pulsar.NewStringSchema(nil), pulsar.NewStringSchema(nil)
	}
	consumer, err := client.Subscribe(copts)
	if err != nil {
		t.Fatal(err)
	}
	producer, err := client.CreateProducer(popts)
	if err != nil {
		t.Fatal(err)
	}
	sendCtx, stopSend := context.WithCancel(context.Background())
	recvCtx, stopRecv := context.WithCancel(context.Background())
	sent, received := make(chan struct{}), make(chan struct{})
	l.stopSend = sync.OnceFunc(func() { stopSend(); <-sent; producer.Close() })
	l.stopRecv = sync.OnceFunc(func() { stopRecv(); <-received; consumer.Close() })
	t.Cleanup(func() { l.stopSend(); l.stopRecv() })
	go func() {
		defer close(sent)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-tick.C:
			}
			l.mu.Lock()
			seq := l.sent
			l.mu.Unlock()
			ctx, cancel := context.WithTimeout(sendCtx, 30*time.Second)
			_, err := producer.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("seq-" + strconv.Itoa(seq))})
			cancel()
			if err == nil {
				l.mu.Lock()
				l.sent++
				l.mu.Unlock()
			}
		}
	}()
	go func() {
		defer close(received)
		for {
			m, err := consumer.Receive(recvCtx)
			if err != nil {
				return
			}
			_ = consumer.Ack(m)
			seq, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(string(m.Payload()), "seq-"), "!"))
			if err != nil {
				continue
			}
			l.mu.Lock()
			l.received[seq]++
			l.times = append(l.times, time.Now())
			l.mu.Unlock()
		}
	}()
}

// missing and duplicated report, for the messages sent, how many never came
// back and how many came back more than once.
func (l *load) counts() (sent, missing, duplicated int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.sent {
		switch n := l.received[i]; {
		case n == 0:
			missing++
		case n > 1:
			duplicated++
		}
	}
	return l.sent, missing, duplicated
}

// longestGap is the longest time between two consecutive outputs.
func (l *load) longestGap() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(l.times); i++ {
		gap = max(gap, l.times[i].Sub(l.times[i-1]))
	}
	return gap
}

// TestRollingMigration does what an operator replacing Java workers does: a
// cluster of three Java workers runs Java, Python and Go functions under a
// steady message load; one machine at a time, the Java worker is stopped
// (systemctl stop: SIGTERM to the unit's processes) and ours is started in its place with the same
// functions_worker.yml keys (same workerId and port), until three of ours
// remain. No message may be lost, no function lost, and at no sample may an
// instance run twice; the longest gap in each function's output is printed.
func TestRollingMigration(t *testing.T) {
	t.Parallel() // own workers, ports and namespaces: overlaps with the other parallel tests
	p := harness.RequirePulsar(t)
	p.RequireJavaWorkers(t)
	goBin := buildGoFunction(t)
	c := newMixedCluster(t, p, nil)
	ids := []string{"worker-a", "worker-b", "worker-c"}
	for _, id := range ids {
		c.add(harness.KindJava, id)
	}
	c.startAll(ids)
	leader := c.expectMembers(2 * time.Minute)
	t.Logf("three Java workers, leader %s", leader)

	u := harness.UniqueName("")
	gofn := &fn{kind: "functions", name: "mig-go" + u, parallelism: 3, stopped: map[int]bool{}}
	pyfn := &fn{kind: "functions", name: "mig-py" + u, parallelism: 2, stopped: map[int]bool{}}
	jfn := &fn{kind: "functions", name: "mig-java" + u, parallelism: 1, stopped: map[int]bool{}}
	fns := map[string]*fn{gofn.name: gofn, pyfn.name: pyfn, jfn.name: jfn}
	topic := func(f *fn, dir string) string { return "persistent://public/default/" + f.name + "-" + dir }
	w0 := c.workers[ids[0]]
	submit(t, w0, http.MethodPost, gofn, map[string]any{"runtime": "GO", "inputs": []string{topic(gofn, "in")},
		"output": topic(gofn, "out"), "parallelism": gofn.parallelism, "autoAck": true}, goBin)
	submit(t, w0, http.MethodPost, pyfn, map[string]any{"runtime": "PYTHON", "inputs": []string{topic(pyfn, "in")},
		"output": topic(pyfn, "out"), "parallelism": pyfn.parallelism, "autoAck": true,
		"className": "exclamation_function.ExclamationFunction"}, filepath.Join(p.Home, "examples", "python-examples", "exclamation_function.py"))
	submit(t, w0, http.MethodPost, jfn, map[string]any{"runtime": "JAVA", "inputs": []string{topic(jfn, "in")},
		"output": topic(jfn, "out"), "parallelism": jfn.parallelism, "autoAck": true,
		"className": "org.apache.pulsar.functions.api.examples.ExclamationFunction"}, filepath.Join(p.Home, "examples", "api-examples.jar"))
	for _, f := range fns {
		c.waitRunningEverywhere(f, 5*time.Minute)
	}
	c.checkInvariants("three Java workers", fns, 2*time.Minute)
	for _, f := range fns {
		c.waitSubscribed(f, topic(f, "in"))
	}

	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loads := []*load{
		{name: gofn.name, in: topic(gofn, "in"), out: topic(gofn, "out"), received: map[int]int{}},
		{name: pyfn.name, in: topic(pyfn, "in"), out: topic(pyfn, "out"), received: map[int]int{}},
		{name: jfn.name, in: topic(jfn, "in"), out: topic(jfn, "out"), schema: true, received: map[int]int{}},
	}
	for _, l := range loads {
		l.start(t, client, 100*time.Millisecond)
	}

	// Sample the instance processes all along: never two of one instance.
	var twice []string
	var samples int
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampleCtx.Err() == nil {
			seen := map[string]int{}
			for _, pr := range instanceProcesses(fns) {
				seen[pr.key]++
			}
			samples++
			for k, n := range seen {
				if n > 1 {
					twice = append(twice, fmt.Sprintf("%s x%d at %s", k, n, time.Now().Format(time.TimeOnly)))
				}
			}
			select {
			case <-sampleCtx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()

	started := time.Now()
	for _, id := range ids {
		step := time.Now()
		old := c.workers[id]
		// systemctl stop: the Java worker's instance JVMs may outlive the
		// worker by a few seconds, so the unit's whole cgroup is stopped.
		code := old.Stop(3 * time.Minute)
		t.Logf("Java worker %s stopped (exit %d) after %.1f s", id, code, time.Since(step).Seconds())
		c.forget(id)
		c.kinds[id] = harness.KindGo
		c.start(id).WaitReady(2 * time.Minute)
		l := c.expectMembers(2 * time.Minute)
		for _, f := range fns {
			c.waitRunningEverywhere(f, 5*time.Minute)
		}
		c.checkInvariants("replace "+id, fns, 3*time.Minute)
		t.Logf("%s replaced by one of ours in %.1f s; leader %s (%s)", id, time.Since(step).Seconds(), l, c.kinds[l])
	}
	t.Logf("migration of three workers took %.1f s", time.Since(started).Seconds())

	// Let the load run a little on the new cluster, then drain it.
	for _, l := range loads {
		l.mu.Lock()
		target := l.sent + 20
		l.mu.Unlock()
		harness.Eventually(t, 2*time.Minute, "the load goes on through "+l.name, func() error {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.sent < target {
				return fmt.Errorf("%d sent, waiting for %d", l.sent, target)
			}
			return nil
		})
	}
	drain(t, loads)
	stopSampling()
	<-sampled

	for _, l := range loads {
		sent, missing, dup := l.counts()
		t.Logf("%s: %d sent, %d lost, %d delivered more than once; longest processing gap %.1f s",
			l.name, sent, missing, dup, l.longestGap().Seconds())
		if missing > 0 {
			t.Errorf("%s: %d of %d messages lost", l.name, missing, sent)
		}
	}
	t.Logf("%d samples of the instance processes", samples)
	if len(twice) > 0 {
		t.Errorf("instances ran twice: %v", twice)
	}
	var names []string
	for _, w := range c.live() {
		if w.Kind != harness.KindGo {
			t.Errorf("%s is still a %s worker", w.ID, w.Kind)
		}
		var list []string
		if err := w.GetJSON("/admin/v3/functions/public/default", &list); err != nil {
			t.Fatal(err)
		}
		names = list
		for f := range fns {
			if !slices.Contains(list, f) {
				t.Errorf("function %s lost: %s lists %v", f, w.ID, list)
			}
		}
	}
	t.Logf("functions after the migration: %v", names)
}

// drain stops every load's producer, waits until what was sent came back
// (at most two minutes), then stops the consumers.
func drain(t *testing.T, loads []*load) {
	t.Helper()
	for _, l := range loads {
		l.stopSend()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, l := range loads {
		for time.Now().Before(deadline) {
			if _, missing, _ := l.counts(); missing == 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, l := range loads {
		l.stopRecv()
	}
}
