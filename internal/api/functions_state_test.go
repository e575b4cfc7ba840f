package api

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeState is an in-memory StateStore keyed by "t/ns/name/key".
type fakeState struct {
	mu      sync.Mutex
	values  map[string]StateValue
	deleted chan string
	err     error
}

func newFakeState() *fakeState {
	return &fakeState{values: map[string]StateValue{}, deleted: make(chan string, 4)}
}

func (f *fakeState) GetState(_ context.Context, t, ns, name, key string) (StateValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return StateValue{}, f.err
	}
	v, ok := f.values[t+"/"+ns+"/"+name+"/"+key]
	if !ok {
		return StateValue{}, fmt.Errorf("get %s: %w", key, ErrStateKeyNotFound)
	}
	return v, nil
}

func (f *fakeState) PutState(_ context.Context, t, ns, name, key string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	k := t + "/" + ns + "/" + name + "/" + key
	f.values[k] = StateValue{Value: value, Version: f.values[k].Version + 1}
	return nil
}

func (f *fakeState) DeleteState(_ context.Context, t, ns, name string) error {
	f.deleted <- t + "/" + ns + "/" + name
	return nil
}

func counter(n int64) StateValue {
	return StateValue{Value: binary.BigEndian.AppendUint64(nil, uint64(n)), Version: 3, IsNumber: true}
}

func newStateServer(w fakeWorker, g Guard, b *fakeFunctions, st StateStore) *Server {
	opts := []Option{WithFunctions(b)}
	if st != nil {
		opts = append(opts, WithState(st))
	}
	return New(w, g, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
}

const statePath = "/admin/v3/functions/public/default/fn/state/"

func TestQueryState(t *testing.T) {
	tests := []struct {
		name       string
		worker     fakeWorker
		noStore    bool
		noFunction bool
		storeErr   error
		key        string
		stored     *StateValue
		wantCode   int
		wantBody   string
	}{
		{name: "counter", key: "hello", stored: ptr(counter(42)), wantCode: 200,
			wantBody: `{"key":"hello","numberValue":42,"version":3}`},
		{name: "UTF-8 string", key: "greeting", stored: &StateValue{Value: []byte("héllo"), Version: 0}, wantCode: 200,
			wantBody: `{"key":"greeting","stringValue":"héllo","version":0}`},
		{name: "empty value is an empty string", key: "k", stored: &StateValue{Value: []byte{}, Version: 1}, wantCode: 200,
			wantBody: `{"key":"k","stringValue":"","version":1}`},
		{name: "other bytes are base64", key: "raw", stored: &StateValue{Value: []byte{0xff, 0x00, 0xfe}, Version: 2}, wantCode: 200,
			wantBody: `{"key":"raw","byteValue":"/wD+","version":2}`},
		// 4.0.8 reads any 8-byte value as a number too (the side-by-side
		// suite found it: querystate after a numberValue put).
		{name: "8 plain bytes are also a number", key: "eight", stored: &StateValue{Value: []byte("abcdefgh"), Version: 1}, wantCode: 200,
			wantBody: `{"key":"eight","stringValue":"abcdefgh","numberValue":7017280452245743464,"version":1}`},
		{name: "key with spaces", key: "a%20b", stored: &StateValue{Value: []byte("v")}, wantCode: 200,
			wantBody: `{"key":"a b","stringValue":"v","version":0}`},
		{name: "missing key", key: "nope", wantCode: 404,
			wantBody: `{"reason":"key 'nope' doesn't exist."}`},
		{name: "no such function", key: "hello", noFunction: true, wantCode: 404,
			wantBody: `{"reason":"'fn' is not found"}`},
		{name: "no state storage", key: "hello", noStore: true, wantCode: 503,
			wantBody: `{"reason":"State storage client is not done initializing. Please try again in a little while."}`},
		{name: "not initialized", worker: fakeWorker{}, key: "hello", wantCode: 503,
			wantBody: `{"reason":"Function worker service is not done initializing. Please try again in a little while."}`},
		{name: "store failure", key: "hello", storeErr: errors.New("boom"), wantCode: 500,
			wantBody: `{"reason":"boom"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeFunctions()
			if !tc.noFunction {
				b.put(t, `{"runtime":"PYTHON","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/fn/x.py", 0)
			}
			st := newFakeState()
			st.err = tc.storeErr
			if tc.stored != nil {
				key := strings.ReplaceAll(tc.key, "%20", " ")
				st.values["public/default/fn/"+key] = *tc.stored
			}
			w := tc.worker
			if tc.name != "not initialized" {
				w = leaderWorker
			}
			var store StateStore = st
			if tc.noStore {
				store = nil
			}
			s := newStateServer(w, nil, b, store)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", statePath+tc.key, nil))
			if rec.Code != tc.wantCode || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("GET %s = %d %s, want %d %s", tc.key, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestPutState(t *testing.T) {
	tests := []struct {
		name      string
		noStore   bool
		key       string
		state     string // the state part; "" for none
		wantCode  int
		wantBody  string
		wantValue []byte
	}{
		{name: "string", key: "greeting", state: `{"key":"greeting","stringValue":"hi"}`, wantCode: 204, wantValue: []byte("hi")},
		{name: "bytes win over string", key: "k", state: `{"key":"k","stringValue":"s","byteValue":"AQI="}`, wantCode: 204, wantValue: []byte{1, 2}},
		{name: "empty bytes fall back to string", key: "k", state: `{"key":"k","stringValue":"s","byteValue":""}`, wantCode: 204, wantValue: []byte("s")},
		{name: "number as 8 bytes", key: "n", state: `{"key":"n","numberValue":7}`, wantCode: 204, wantValue: []byte{0, 0, 0, 0, 0, 0, 0, 7}},
		{name: "unknown fields ignored", key: "k", state: `{"key":"k","stringValue":"v","other":1}`, wantCode: 204, wantValue: []byte("v")},
		{name: "key mismatch", key: "a", state: `{"key":"b","stringValue":"v"}`, wantCode: 400,
			wantBody: `{"reason":"Path key doesn't match key in json"}`},
		{name: "no state part", key: "a", wantCode: 400, wantBody: `{"reason":"Path key doesn't match key in json"}`},
		{name: "no value", key: "a", state: `{"key":"a"}`, wantCode: 400, wantBody: `{"reason":"Invalid state value"}`},
		{name: "bad JSON", key: "a", state: `{"key":`, wantCode: 400, wantBody: `{"reason":"Bad Request"}`},
		{name: "no state storage", noStore: true, key: "a", state: `{"key":"a","stringValue":"v"}`, wantCode: 503,
			wantBody: `{"reason":"State storage client is not done initializing. Please try again in a little while."}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeFunctions()
			b.put(t, `{"runtime":"PYTHON","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/fn/x.py", 0)
			st := newFakeState()
			var store StateStore = st
			if tc.noStore {
				store = nil
			}
			s := newStateServer(leaderWorker, nil, b, store)
			var parts []part
			if tc.state != "" {
				parts = append(parts, jsonPart("state", tc.state))
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, multipartRequest(t, "POST", statePath+tc.key, parts...))
			if rec.Code != tc.wantCode || strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("POST %s = %d %s, want %d %s", tc.key, rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
			if tc.wantValue != nil {
				got := st.values["public/default/fn/"+tc.key]
				if string(got.Value) != string(tc.wantValue) {
					t.Errorf("stored %q, want %q", got.Value, tc.wantValue)
				}
			}
		})
	}
}

// put then query round-trips a string, as pulsar-admin putstate/querystate do.
func TestPutThenQueryState(t *testing.T) {
	b := newFakeFunctions()
	b.put(t, `{"runtime":"PYTHON","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/fn/x.py", 0)
	s := newStateServer(leaderWorker, nil, b, newFakeState())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, multipartRequest(t, "POST", statePath+"k", jsonPart("state", `{"key":"k","stringValue":"v1"}`)))
	if rec.Code != 204 {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", statePath+"k", nil))
	if want := `{"key":"k","stringValue":"v1","version":1}`; rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != want {
		t.Fatalf("query: %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
}

// The combined GET .../{name}/{a}/{b} route still serves F7, and
// JAX-RS's preference makes .../state/status F7 as well.
func TestFunctionSubresourceRouting(t *testing.T) {
	b := newFakeFunctions()
	b.put(t, `{"runtime":"PYTHON","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/fn/x.py", 0)
	s := newStateServer(leaderWorker, nil, b, newFakeState())
	tests := []struct {
		path     string
		wantCode int
		contains string
	}{
		{"/admin/v3/functions/public/default/fn/0/status", 200, `"running"`},
		{"/admin/v3/functions/public/default/fn/state/status", 400, `"reason":"Invalid instance id 'state': not a 32-bit integer"`},
		{"/admin/v3/functions/public/default/fn/state/k", 404, `key 'k' doesn't exist.`},
		{"/admin/v3/functions/public/default/fn/foo/bar", 404, `HTTP 404 Not Found`},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %s, want %d containing %s", tc.path, rec.Code, rec.Body, tc.wantCode, tc.contains)
		}
	}
}

// Deleting a function drops its state table in the background.
func TestDeleteFunctionDropsState(t *testing.T) {
	b := newFakeFunctions()
	b.put(t, `{"runtime":"PYTHON","py":"f.py","className":"f.F","inputs":["in"]}`, "public/default/fn/x.py", 0)
	st := newFakeState()
	s := newStateServer(leaderWorker, nil, b, st)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("DELETE", "/admin/v3/functions/public/default/fn", nil))
	if rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if got := <-st.deleted; got != "public/default/fn" {
		t.Errorf("deleted state of %q", got)
	}
}

// functionStateOf never panics, always sets key and version, and sets
// exactly one of the values except for a counter of the wrong length;
// strings round-trip through stateBytes.
func FuzzFunctionStateOf(f *testing.F) {
	f.Add([]byte("hello"), int64(1), false)
	f.Add(binary.BigEndian.AppendUint64(nil, 42), int64(3), true)
	f.Add([]byte{0xff, 0xfe}, int64(0), false)
	f.Add([]byte{}, int64(0), true)
	f.Add([]byte("\xed\xa0\x80"), int64(0), false) // a UTF-16 surrogate: not well-formed UTF-8
	f.Fuzz(func(t *testing.T, value []byte, version int64, isNumber bool) {
		fs := functionStateOf("k", StateValue{Value: value, Version: version, IsNumber: isNumber})
		if fs.Key != "k" || fs.Version == nil || *fs.Version != version {
			t.Fatalf("key/version: %+v", fs)
		}
		set := 0
		if fs.StringValue != nil {
			set++
		}
		if fs.ByteValue != nil {
			set++
		}
		// Any 8-byte value is also shown as a number, as on 4.0.8.
		if len(value) == 8 {
			if fs.NumberValue == nil || int64(binary.BigEndian.Uint64(value)) != *fs.NumberValue {
				t.Fatalf("8 bytes %x without their number: %+v", value, fs)
			}
		} else if fs.NumberValue != nil {
			t.Fatalf("%d bytes with a number: %+v", len(value), fs)
		}
		if fs.NumberValue != nil && isNumber {
			set++
		}
		switch {
		case isNumber && len(value) == 8:
			if set != 1 || fs.NumberValue == nil || int64(binary.BigEndian.Uint64(value)) != *fs.NumberValue {
				t.Fatalf("counter %x: %+v", value, fs)
			}
		case isNumber:
			if set != 0 {
				t.Fatalf("counter of %d bytes: %+v", len(value), fs)
			}
		case utf8.Valid(value):
			if set != 1 || fs.StringValue == nil || *fs.StringValue != string(value) {
				t.Fatalf("string %q: %+v", value, fs)
			}
		default:
			if set != 1 || string(fs.ByteValue) != string(value) {
				t.Fatalf("bytes %x: %+v", value, fs)
			}
		}
		// What querystate prints, putstate takes back: same bytes.
		if !isNumber {
			js, err := json.Marshal(fs)
			if err != nil {
				t.Fatal(err)
			}
			var back functionState
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			got, err := stateBytes(&back)
			if len(value) == 0 {
				if err != nil || len(got) != 0 {
					t.Fatalf("empty value came back as %q, %v", got, err)
				}
				return
			}
			if err != nil || string(got) != string(value) {
				t.Fatalf("round trip of %x: %x, %v (json %s)", value, got, err, js)
			}
		}
	})
}
