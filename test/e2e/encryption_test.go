package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/crypto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/test/harness"
)

// cryptoRuntime is how the test deploys an exclamation function of one
// instance runtime with end-to-end encryption, and what that runtime does
// with the failure actions (the same on both kinds of worker: both start the
// distribution's own instances).
type cryptoRuntime struct {
	name string
	// code are pulsar-admin's options naming the function's code and class.
	code func(p harness.Pulsar) []string
	// require skips the test locally, or fails it under CI=true, when the
	// runtime is missing.
	require func(t *testing.T, p harness.Pulsar)
	// keyReader is the cryptoKeyReaderClassName and keyReaderConfig its
	// cryptoKeyReaderConfig for a key pair.
	keyReader       string
	keyReaderConfig func(public, private string) map[string]any
	// settled reports whether the instances did all they will do with the
	// messages the test sent.
	settled func(cryptoOutcome) bool
}

var cryptoRuntimes = []cryptoRuntime{
	{
		name: "java",
		code: func(p harness.Pulsar) []string {
			return []string{"--jar", filepath.Join(p.Home, "examples", "api-examples.jar"),
				"--classname", "org.apache.pulsar.functions.api.examples.ExclamationFunction"}
		},
		require: func(*testing.T, harness.Pulsar) {}, // the Java worker needs Java already
		// The distribution's key reader with the constructor taking a Map
		// that the Java instance needs (CryptoUtils); it ships in
		// examples/api-examples.jar beside ExclamationFunction and reads the
		// PEM files named by its "PUBLIC" and "PRIVATE" settings.
		keyReader: "org.apache.pulsar.functions.api.examples.RawFileKeyReader",
		keyReaderConfig: func(public, private string) map[string]any {
			return map[string]any{"PUBLIC": public, "PRIVATE": private}
		},
		// The Java client honours every failure action: FAIL leaves the
		// message unacknowledged, DISCARD acknowledges it, CONSUME hands the
		// ciphertext to the function; SEND sends the output unencrypted.
		settled: func(o cryptoOutcome) bool {
			return len(o.Output) >= 2 && o.DiscardBacklog == 0 && o.ConsumeBacklog == 0 && o.FailBacklog > 0 &&
				(len(o.SendOutput) > 0 || o.SendFailed) && (len(o.FailOutput) > 0 || o.FailFailed)
		},
	},
	{
		name: "python",
		code: func(p harness.Pulsar) []string {
			return []string{"--py", filepath.Join(p.Home, "examples", "python-examples", "exclamation_function.py"),
				"--classname", "exclamation_function.ExclamationFunction"}
		},
		require: func(t *testing.T, p harness.Pulsar) { p.RequirePythonInstances(t) },
		// Both workers refuse a blank cryptoKeyReaderClassName (4.0.8's
		// doCommonChecks, for every runtime), so python_instance.py's
		// default pulsar.CryptoKeyReader(**config) for an empty class name
		// cannot be reached; the class name imports that same class.
		keyReader: "pulsar.CryptoKeyReader",
		keyReaderConfig: func(public, private string) map[string]any {
			return map[string]any{"public_key_path": public, "private_key_path": private}
		},
		// python_instance.py passes neither failure action to the Python
		// client, so its defaults apply: an input it cannot decrypt stays
		// unacknowledged whatever consumerCryptoFailureAction says (FAIL),
		// and an output it cannot encrypt is not sent, SEND or not (FAIL).
		settled: func(o cryptoOutcome) bool {
			return slices.Contains(o.Output, "ok!") && o.FailBacklog > 0 && o.DiscardBacklog > 0 && o.ConsumeBacklog > 0 &&
				(len(o.SendOutput) > 0 || o.SendFailed) && (len(o.FailOutput) > 0 || o.FailFailed)
		},
	},
}

// cryptoOutcome is what one kind of worker made of the same functions and
// the same messages.
type cryptoOutcome struct {
	// Output is what the test's consumer, holding the private key, read from
	// the encrypted output of the function whose inputs have one consumer
	// crypto failure action each; "(ciphertext)!" is an input the function
	// got undecrypted.
	Output []string
	// Backlogs of the function's subscriptions on the inputs whose key the
	// function does not have, by failure action.
	FailBacklog, DiscardBacklog, ConsumeBacklog int64
	// SendOutput / FailOutput are what the functions whose output key cannot
	// be loaded produced, with producerCryptoFailureAction SEND / FAIL
	// ("(encrypted)" for an encrypted message).
	SendOutput, FailOutput []string
	// SendFailed / FailFailed: whether their instance was seen failing (an
	// error, a system exception or a restart in its status).
	SendFailed, FailFailed bool
}

// testEncryption runs, for each instance runtime at once, the same three
// exclamation functions on each kind of worker:
//   - crypt decrypts its inputs and encrypts its output: one input whose key
//     it has, and three whose key it does not have, with
//     consumerCryptoFailureAction FAIL, DISCARD and CONSUME;
//   - send and fail have an output key that cannot be loaded, with
//     producerCryptoFailureAction SEND and FAIL.
//
// The test produces encrypted messages with pulsar-client-go and decrypts the
// output with it; for each runtime both kinds of worker must end the same way.
func testEncryption(t *testing.T, s *securePair) {
	// The runtimes' subtests run at once, from goroutines rather than with
	// t.Parallel: a parallel subtest would give up TestTLS's slot of
	// go test -parallel and wait for new ones while the workers idle.
	var wg sync.WaitGroup
	for _, rt := range cryptoRuntimes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(rt.name, func(t *testing.T) {
				rt.require(t, s.p)
				testEncryptionOf(t, s, rt)
			})
		}()
	}
	wg.Wait()
}

func testEncryptionOf(t *testing.T, s *securePair, rt cryptoRuntime) {
	p := s.p
	keys := t.TempDir()
	good := harness.NewRSAKeyPair(t, keys, "good")
	wrong := harness.NewRSAKeyPair(t, keys, "wrong")
	missing := filepath.Join(keys, "missing.pem")
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: p.ServiceURL})
	if err != nil {
		t.Fatalf("pulsar client: %v", err)
	}
	t.Cleanup(client.Close)
	tenant, namespace, _ := strings.Cut(s.ns, "/")
	// Topics and functions are named after the worker kind and the runtime.
	topic := func(kind, name string) string {
		return "persistent://" + s.ns + "/" + kind + "-" + rt.name + "-" + name
	}
	fn := func(kind, name string) string { return kind + "-" + rt.name + "-" + name }
	consumerCrypto := func(pair harness.RSAKeyPair, action string) map[string]any {
		return map[string]any{"cryptoConfig": map[string]any{
			"cryptoKeyReaderClassName": rt.keyReader, "cryptoKeyReaderConfig": rt.keyReaderConfig(pair.Public, pair.Private),
			"consumerCryptoFailureAction": action}}
	}
	producerCrypto := func(pub, action string) map[string]any {
		return map[string]any{"cryptoConfig": map[string]any{
			"cryptoKeyReaderClassName": rt.keyReader,
			"cryptoKeyReaderConfig":    rt.keyReaderConfig(pub, good.Private),
			"encryptionKeys":           []string{"k1"}, "producerCryptoFailureAction": action}}
	}
	jsonArg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	admin := append([]string{"--tls-trust-cert-path", s.ca.Cert}, tlsAuth(s.admin)...)
	// Each function reads its inputs from the earliest message, so what the
	// test sends before an instance subscribes still reaches it.
	create := func(w *secureWorker, name string, args ...string) {
		t.Helper()
		all := append(slices.Clone(admin), "functions", "create", "--tenant", tenant, "--namespace", namespace,
			"--name", name, "--subs-position", "Earliest")
		all = append(all, rt.code(p)...)
		if out, err := adminCLI(t, p, w.httpsURL(), append(all, args...)...); err != nil {
			t.Errorf("create %s on the %s worker: %v\n%s", name, w.Kind, err, out)
		}
	}

	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := w.Kind
			create(w, fn(k, "crypt"), "--input-specs", jsonArg(map[string]any{
				topic(k, "in-ok"):      consumerCrypto(good, "FAIL"),
				topic(k, "in-fail"):    consumerCrypto(wrong, "FAIL"),
				topic(k, "in-discard"): consumerCrypto(wrong, "DISCARD"),
				topic(k, "in-consume"): consumerCrypto(wrong, "CONSUME"),
			}), "--output", topic(k, "out"), "--producer-config", jsonArg(producerCrypto(good.Public, "FAIL")))
			create(w, fn(k, "send"), "--inputs", topic(k, "in-plain"), "--output", topic(k, "out-send"),
				"--producer-config", jsonArg(producerCrypto(missing, "SEND")))
			create(w, fn(k, "fail"), "--inputs", topic(k, "in-plain"), "--output", topic(k, "out-fail"),
				"--producer-config", jsonArg(producerCrypto(missing, "FAIL")))
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// Consumers of the outputs first, from the earliest message.
	subscribe := func(topic string, action int) pulsar.Consumer {
		c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test",
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
			Decryption: &pulsar.MessageDecryptionInfo{KeyReader: crypto.NewFileKeyReader(good.Public, good.Private),
				ConsumerCryptoFailureAction: action}})
		if err != nil {
			t.Fatalf("subscribe to %s: %v", topic, err)
		}
		t.Cleanup(c.Close)
		return c
	}
	// Inputs: encrypted with the good key, except the plain one.
	send := func(topic string, encrypt bool, payload string) {
		opts := pulsar.ProducerOptions{Topic: topic}
		if encrypt {
			opts.Encryption = &pulsar.ProducerEncryptionInfo{KeyReader: crypto.NewFileKeyReader(good.Public, good.Private), Keys: []string{"k1"}}
		}
		pr, err := client.CreateProducer(opts)
		if err != nil {
			t.Fatalf("producer on %s: %v", topic, err)
		}
		defer pr.Close()
		if _, err := pr.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(payload)}); err != nil {
			t.Fatalf("send to %s: %v", topic, err)
		}
	}
	type watch struct {
		out, outSend, outFail pulsar.Consumer
		outcome               cryptoOutcome
	}
	watches := map[string]*watch{}
	for _, w := range s.workers {
		k := w.Kind
		watches[k] = &watch{
			out:     subscribe(topic(k, "out"), crypto.ConsumerCryptoFailureActionFail),
			outSend: subscribe(topic(k, "out-send"), crypto.ConsumerCryptoFailureActionConsume),
			outFail: subscribe(topic(k, "out-fail"), crypto.ConsumerCryptoFailureActionConsume),
		}
		for _, in := range []string{"ok", "fail", "discard", "consume"} {
			send(topic(k, "in-"+in), true, in)
		}
		send(topic(k, "in-plain"), false, "plain")
	}

	httpc := adminHTTPClient(t, s)
	read := func(c pulsar.Consumer, into *[]string, plain func(string) string) {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			m, err := c.Receive(ctx)
			cancel()
			if err != nil {
				return
			}
			_ = c.Ack(m)
			*into = append(*into, plain(string(m.Payload())))
		}
	}
	deadline := time.Now().Add(4 * time.Minute)
	for _, w := range s.workers {
		wt := watches[w.Kind]
		o := &wt.outcome
		k := w.Kind
		sub := s.ns + "/" + fn(k, "crypt")
		for {
			read(wt.out, &o.Output, func(s string) string {
				if s == "ok!" || s == "consume!" || !strings.HasSuffix(s, "!") {
					return s
				}
				return "(ciphertext)!"
			})
			read(wt.outSend, &o.SendOutput, func(s string) string { return s })
			read(wt.outFail, &o.FailOutput, func(s string) string { return s })
			o.FailBacklog = backlog(t, p, topic(k, "in-fail"), sub)
			o.DiscardBacklog = backlog(t, p, topic(k, "in-discard"), sub)
			o.ConsumeBacklog = backlog(t, p, topic(k, "in-consume"), sub)
			o.SendFailed = o.SendFailed || instanceFailed(httpc, w, s.ns+"/"+fn(k, "send"))
			o.FailFailed = o.FailFailed || instanceFailed(httpc, w, s.ns+"/"+fn(k, "fail"))
			if rt.settled(*o) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		slices.Sort(o.Output)
		t.Logf("%s worker, %s functions: %+v (settled %v)", w.Kind, rt.name, *o, rt.settled(*o))
	}
	ours, java := watches[harness.KindGo].outcome, watches[harness.KindJava].outcome
	if !slices.Contains(java.Output, "ok!") {
		t.Errorf("the Java worker's %s function did not decrypt, process and encrypt %q: %+v", rt.name, "ok", java)
	}
	if !reflect.DeepEqual(ours, java) {
		t.Errorf("end-to-end encryption with %s functions:\nours:            %+v\nthe Java worker: %+v", rt.name, ours, java)
	}
}

// backlog is the backlog of subscription sub on topic (-1 when the broker
// does not know it yet).
func backlog(t *testing.T, p harness.Pulsar, topic, sub string) int64 {
	t.Helper()
	code, body := p.Admin(t, http.MethodGet, "/admin/v2/"+strings.Replace(topic, "://", "/", 1)+"/stats", nil)
	if code != http.StatusOK {
		return -1
	}
	var st struct {
		Subscriptions map[string]struct {
			MsgBacklog int64 `json:"msgBacklog"`
		} `json:"subscriptions"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return -1
	}
	s, ok := st.Subscriptions[sub]
	if !ok {
		return -1
	}
	return s.MsgBacklog
}

// adminHTTPClient speaks HTTPS to the workers with the super user's
// certificate.
func adminHTTPClient(t *testing.T, s *securePair) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(s.ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(s.admin.Cert, s.admin.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
}

// instanceFailed reports whether the status of instance 0 of the function
// fqn (tenant/namespace/name) shows an error, a system exception (a Python
// instance counts a failed send so and keeps running) or a restart.
func instanceFailed(c *http.Client, w *secureWorker, fqn string) bool {
	resp, err := c.Get(w.httpsURL() + "/admin/v3/functions/" + fqn + "/0/status")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		Error               string `json:"error"`
		NumRestarts         int64  `json:"numRestarts"`
		NumSystemExceptions int64  `json:"numSystemExceptions"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return false
	}
	return st.Error != "" || st.NumRestarts > 0 || st.NumSystemExceptions > 0
}
