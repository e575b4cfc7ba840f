package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// TestStateTopicsSurviveBadMessages puts on the state topics what a Go
// worker must survive: garbage on each of the metadata, assignments and
// coordination topics, and a Java leader's tombstone (an LZ4-compressed empty
// payload, which pulsar-client-go hands over as one 0x00 byte). The test
// itself plays the writing leader: it holds the exclusive producers of the
// metadata and assignments topics before the workers start, so both workers
// follow the topics (the path a Java leader's writes take) until it lets go.
func TestStateTopicsSurviveBadMessages(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	bin := buildGoFunction(t)
	ctx := harness.WithTimeout(t, 5*time.Minute)

	ns := "public/" + harness.UniqueName("fw")
	if code, body := p.Admin(t, "PUT", "/admin/v2/namespaces/"+ns, map[string]any{
		"replication_clusters": []string{"standalone"},
		"retention_policies":   map[string]int{"retentionTimeInMinutes": -1, "retentionSizeInMB": -1},
	}); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("create namespace %s: %d %s", ns, code, body)
	}
	metaTopic := "persistent://" + ns + "/metadata"
	asgTopic := "persistent://" + ns + "/assignments"
	coordTopic := "persistent://" + ns + "/coordinate"

	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// LZ4, as the Java worker's state topic producers.
	exclusive := func(topic string) pulsar.Producer {
		pr, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, Name: "test-leader-" + harness.UniqueName("p"),
			ProducerAccessMode: pulsar.ProducerAccessModeExclusive, DisableBatching: true, CompressionType: pulsar.LZ4})
		if err != nil {
			t.Fatalf("exclusive producer on %s: %v", topic, err)
		}
		return pr
	}
	metaProd, asgProd := exclusive(metaTopic), exclusive(asgTopic)
	send := func(pr pulsar.Producer, m *pulsar.ProducerMessage) pulsar.MessageID {
		t.Helper()
		id, err := pr.Send(ctx, m)
		if err != nil {
			t.Fatalf("send to %s: %v", pr.Topic(), err)
		}
		return id
	}

	ov := map[string]any{"pulsarFunctionsNamespace": ns}
	var ws []*harness.Worker
	for i := range 2 {
		id := fmt.Sprintf("worker-%d", i+1)
		port := harness.FreePort(t)
		ws = append(ws, harness.StartWorker(t, id, port, harness.WorkerConfig(t, p, id, port, ov)))
	}
	for _, w := range ws {
		w.WaitReady(60 * time.Second)
	}

	// An assignment to a worker that does not exist (nobody runs it), seen
	// by both workers...
	ghostKey := "public/default/" + harness.UniqueName("ghost") + ":0"
	ghost, err := proto.Marshal(&pb.Assignment{WorkerId: "ghost-worker", Instance: &pb.Instance{
		FunctionMetaData: &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{
			Tenant: "public", Namespace: "default", Name: strings.TrimSuffix(strings.TrimPrefix(ghostKey, "public/default/"), ":0"),
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	send(asgProd, &pulsar.ProducerMessage{Key: ghostKey, Payload: ghost})
	assigned := func(w *harness.Worker) (bool, error) {
		var a map[string][]string
		if err := w.GetJSON("/admin/v2/worker/assignments", &a); err != nil {
			return false, err
		}
		return strings.Contains(fmt.Sprint(a), ghostKey), nil
	}
	harness.Eventually(t, 30*time.Second, "both workers see the ghost assignment", func() error {
		for _, w := range ws {
			if ok, err := assigned(w); err != nil || !ok {
				return fmt.Errorf("%s: ghost assigned %v, %v", w.ID, ok, err)
			}
		}
		return nil
	})

	// ...then garbage, and the Java leader's tombstone for it.
	garbage := []byte("not a protobuf \xff\x00")
	badMeta := send(metaProd, &pulsar.ProducerMessage{Payload: garbage})
	badAsg := send(asgProd, &pulsar.ProducerMessage{Key: "garbage", Payload: garbage})
	tomb := send(asgProd, &pulsar.ProducerMessage{Key: ghostKey})
	coordProd, err := client.CreateProducer(pulsar.ProducerOptions{Topic: coordTopic, DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	badCoord := send(coordProd, &pulsar.ProducerMessage{Payload: garbage})
	coordProd.Close()

	// What a reader gets for that tombstone, and what the broker stored:
	// the LZ4 block of an empty input, uncompressed size 0.
	checkTombstoneBytes(t, ctx, client, p, asgTopic, tomb)

	skipLine := func(topic string, n int) string {
		return fmt.Sprintf(`pulsar_functions_worker_state_messages_skipped_total{cluster="standalone",topic=%q} %d`, topic, n)
	}
	checkSkipped := func(w *harness.Worker) error {
		if !w.Running() {
			t.Fatalf("worker %s exited:\n%s", w.ID, w.Log())
		}
		code, body := harness.Do(t, "GET", w.URL()+"/metrics", nil)
		if code != 200 {
			return fmt.Errorf("%s /metrics: %d", w.ID, code)
		}
		for _, want := range []string{skipLine(metaTopic, 1), skipLine(asgTopic, 1)} {
			if !strings.Contains(string(body), want) {
				return fmt.Errorf("%s /metrics lacks %s", w.ID, want)
			}
		}
		log := w.Log()
		for topic, id := range map[string]pulsar.MessageID{metaTopic: badMeta, asgTopic: badAsg} {
			if !hasLogLine(log, "level=ERROR", "cannot be decoded", "topic="+topic, "message_id="+id.String()) {
				return fmt.Errorf("%s: no ERROR line naming %s and message %s", w.ID, topic, id)
			}
		}
		return nil
	}
	harness.Eventually(t, 30*time.Second, "garbage skipped and counted, the tombstone applied", func() error {
		coordSkipped := 0
		for _, w := range ws {
			if err := checkSkipped(w); err != nil {
				return err
			}
			if ok, err := assigned(w); err != nil || ok {
				return fmt.Errorf("%s: ghost assigned %v, %v after the LZ4 tombstone", w.ID, ok, err)
			}
			// The coordination topic's message goes to the active consumer
			// (the leader) only: logged, counted and acknowledged there.
			_, body := harness.Do(t, "GET", w.URL()+"/metrics", nil)
			if strings.Contains(string(body), skipLine(coordTopic, 1)) {
				if !hasLogLine(w.Log(), "level=ERROR", "coordination topic", "topic="+coordTopic, "message_id="+badCoord.String()) {
					return fmt.Errorf("%s counted the coordination message but logged no ERROR line naming it", w.ID)
				}
				coordSkipped++
			}
		}
		if coordSkipped != 1 {
			return fmt.Errorf("the coordination topic's message counted by %d workers, want 1 (the leader)", coordSkipped)
		}
		return nil
	})

	// Let go: one of the workers takes the producers over and leads.
	metaProd.Close()
	asgProd.Close()
	expectMembers(t, ws, 60*time.Second)
	checkInitialized(t, ws)

	name := harness.UniqueName("statetopics")
	in, out := "persistent://public/default/"+name+"-in", "persistent://public/default/"+name+"-out"
	if o, err := p.PulsarAdmin(t, ws[0].URL(), append([]string{"functions", "create"},
		goFunctionArgs(t, name, in, out, bin, "--parallelism", "2")...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, o)
	}
	waitRunning(t, p, ws[0], name, 2)

	// A restart reads the garbage from the start again: it comes back.
	restarted := ws[1]
	restarted.Signal(syscall.SIGTERM)
	if code, err := restarted.Wait(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("%s exit: %d, %v", restarted.ID, code, err)
	}
	ws[1] = harness.StartWorker(t, restarted.ID, restarted.Port, restarted.ConfigPath)
	ws[1].WaitReady(60 * time.Second)
	harness.Eventually(t, 30*time.Second, "the restarted worker skipped the garbage again", func() error {
		return checkSkipped(ws[1])
	})
	expectMembers(t, ws, 60*time.Second)
	waitRunning(t, p, ws[1], name, 2)
	checkInitialized(t, ws)
}

func checkInitialized(t *testing.T, ws []*harness.Worker) {
	t.Helper()
	for _, w := range ws {
		if !w.Running() {
			t.Fatalf("worker %s exited:\n%s", w.ID, w.Log())
		}
		if code, body := harness.Do(t, "GET", w.URL()+"/initialized", nil); code != 200 {
			t.Fatalf("%s /initialized: %d %s", w.ID, code, body)
		}
	}
}

// hasLogLine reports whether one line of log contains all of parts.
func hasLogLine(log string, parts ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// checkTombstoneBytes reads message id of topic back with pulsar-client-go
// (payload) and from the broker's admin API (the stored metadata), so the
// test proves it produced what a Java leader does.
func checkTombstoneBytes(t *testing.T, ctx context.Context, client pulsar.Client, p harness.Pulsar, topic string, id pulsar.MessageID) {
	t.Helper()
	r, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: id, StartMessageIDInclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	msg, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Payload(); len(got) != 1 || got[0] != 0x00 {
		t.Fatalf("LZ4 empty payload read back as %x, want 00", got)
	}
	path := strings.TrimPrefix(topic, "persistent://")
	req, _ := http.NewRequestWithContext(ctx, "GET",
		fmt.Sprintf("%s/admin/v2/persistent/%s/ledger/%d/entry/%d", p.WebServiceURL, path, id.LedgerID(), id.EntryID()), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("get message %v: %s", id, resp.Status)
	}
	if c, n := resp.Header.Get("X-Pulsar-compression"), resp.Header.Get("X-Pulsar-uncompressed-size"); c != "LZ4" || n != "0" {
		t.Fatalf("stored tombstone: compression %q, uncompressed size %q; want LZ4, 0 (headers %v)", c, n, resp.Header)
	}
}
