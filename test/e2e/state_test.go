package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// queriedState is `functions querystate`'s output (Java's FunctionState).
type queriedState struct {
	Key         string  `json:"key"`
	StringValue *string `json:"stringValue"`
	NumberValue *int64  `json:"numberValue"`
	Version     *int64  `json:"version"`
}

func queryState(t *testing.T, p harness.Pulsar, w *harness.Worker, name, key string) (queriedState, string, error) {
	t.Helper()
	out, err := p.PulsarAdmin(t, w.URL(), "functions", "querystate", "--tenant", "public", "--namespace", "default",
		"--name", name, "--key", key)
	if err != nil {
		return queriedState{}, out, fmt.Errorf("functions querystate --key %s: %v: %s", key, err, out)
	}
	var st queriedState
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return st, out, fmt.Errorf("querystate printed no JSON: %q", out)
	}
	if err := json.Unmarshal([]byte(out[i:]), &st); err != nil {
		return st, out, fmt.Errorf("parse querystate output %q: %v", out, err)
	}
	return st, out, nil
}

// sendSentences publishes each sentence once to topic.
func sendSentences(t *testing.T, p harness.Pulsar, topic string, schema bool, sentences ...string) {
	t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	popts := pulsar.ProducerOptions{Topic: topic}
	if schema {
		popts.Schema = pulsar.NewStringSchema(nil)
	}
	producer, err := client.CreateProducer(popts)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for _, s := range sentences {
		msg := &pulsar.ProducerMessage{Payload: []byte(s)}
		if schema {
			msg = &pulsar.ProducerMessage{Value: s}
		}
		if _, err := producer.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
}

// The distribution's word count functions count words with incrCounter in
// the state our worker passes them (--state_storage_serviceurl); the real
// pulsar-admin reads the counts through our worker (F23), writes and reads
// back a string (F24), and deleting the function drops its state table.
func TestFunctionStateEndToEnd(t *testing.T) {
	t.Parallel() // own workers, functions namespace and names
	p := harness.RequirePulsar(t)
	storage := p.RequireStateStorage(t)
	tests := []struct {
		name    string
		runtime []string
		schema  bool
	}{
		{"java", []string{"--jar", filepath.Join(p.Home, "examples", "api-examples.jar"),
			"--classname", "org.apache.pulsar.functions.api.examples.WordCountFunction"}, true},
		{"python", []string{"--py", filepath.Join(p.Home, "examples", "python-examples", "wordcount_function.py"),
			"--classname", "wordcount_function.WordCountFunction"}, false},
	}
	ws := startCluster(t, p, 1, nil)
	w := ws[0]
	client, err := state.Dial(storage, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := harness.UniqueName("wordcount-" + tt.name)
			in := "persistent://public/default/" + name + "-in"
			args := append([]string{"functions", "create", "--tenant", "public", "--namespace", "default", "--name", name,
				"--inputs", in}, tt.runtime...)
			if outp, err := p.PulsarAdmin(t, w.URL(), args...); err != nil {
				t.Fatalf("functions create: %v\n%s", err, outp)
			}
			waitRunning(t, p, w, name, 1)

			sendSentences(t, p, in, tt.schema, "the quick brown fox", "jumps over the lazy dog", "the end")
			want := map[string]int64{"the": 3, "fox": 1, "lazy": 1, "end": 1}
			harness.Eventually(t, 2*time.Minute, "word counts in state", func() error {
				for word, n := range want {
					st, _, err := queryState(t, p, w, name, word)
					if err != nil {
						return err
					}
					if st.Key != word || st.NumberValue == nil || *st.NumberValue != n || st.Version == nil {
						return fmt.Errorf("querystate %s = %+v, want numberValue %d", word, st, n)
					}
				}
				return nil
			})

			if _, out, err := queryState(t, p, w, name, "absent"); err == nil || !strings.Contains(out, "key 'absent' doesn't exist.") {
				t.Errorf("querystate of an absent key: %v, %q; want Java's 404 message", err, out)
			}

			if out, err := p.PulsarAdmin(t, w.URL(), "functions", "putstate", "--tenant", "public", "--namespace", "default",
				"--name", name, "--state", `{"key":"greeting","stringValue":"hello, state"}`); err != nil {
				t.Fatalf("functions putstate: %v\n%s", err, out)
			}
			st, out, err := queryState(t, p, w, name, "greeting")
			if err != nil || st.StringValue == nil || *st.StringValue != "hello, state" || st.NumberValue != nil {
				t.Fatalf("querystate after putstate = %+v, %v\n%s", st, err, out)
			}

			if out, err := p.PulsarAdmin(t, w.URL(), "functions", "delete", "--tenant", "public", "--namespace", "default", "--name", name); err != nil {
				t.Fatalf("functions delete: %v\n%s", err, out)
			}
			harness.Eventually(t, time.Minute, "state table dropped", func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				ok, err := client.TableExists(ctx, "public", "default", name)
				if err != nil {
					return err
				}
				if ok {
					return fmt.Errorf("table %s/%s still exists", state.StateNamespace("public", "default"), name)
				}
				return nil
			})
			if _, out, err := queryState(t, p, w, name, "the"); err == nil || !strings.Contains(out, "'"+name+"' is not found") {
				t.Errorf("querystate of a deleted function: %v, %q; want 404 '%s' is not found", err, out, name)
			}
		})
	}
}

// A worker without stateStorageServiceUrl answers Java's 503.
func TestFunctionStateWithoutStateStorage(t *testing.T) {
	t.Parallel() // Go functions only: runs beside the others after the Java-heavy tests
	p := harness.RequirePulsar(t)
	ws := startCluster(t, p, 1, map[string]any{"stateStorageServiceUrl": nil})
	const msg = "State storage client is not done initializing. Please try again in a little while."
	_, out, err := queryState(t, p, ws[0], "anything", "key")
	if err == nil || !strings.Contains(out, msg) {
		t.Errorf("querystate: %v, %q; want %q", err, out, msg)
	}
	out, err = p.PulsarAdmin(t, ws[0].URL(), "functions", "putstate", "--tenant", "public", "--namespace", "default",
		"--name", "anything", "--state", `{"key":"key","stringValue":"v"}`)
	if err == nil || !strings.Contains(out, msg) {
		t.Errorf("putstate: %v, %q; want %q", err, out, msg)
	}
}
