package sidebyside

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// volatileKeys are JSON members whose values depend on when and where a
// step ran, not on what the worker decided: times, latencies, rates, the
// ids of workers, instances' hosts and ports, and restart counts (a Java
// instance on a loaded machine is sometimes restarted by its worker; the
// steps check restarts by the instance processes instead). Their values are replaced
// by their JSON type.
var volatileKeys = regexp.MustCompile(`(?i)(time|latency|timestamp|rate|throughput|^workerid$|^host|port$|^lastreceived|^lastinvocation|^uptime|^numrestarts$)`)

// logStamp is the time and thread of a line pulsar-admin's own logging
// prints (the admin client's warning about a failed request).
var logStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+[+-]\d{4} \[[^\]]*\] `)

// noise are lines the JVM or the client's logging print around the answer.
var noise = regexp.MustCompile(`^(WARNING: |SLF4J|Picked up JAVA_TOOL_OPTIONS)`)

// normalize makes one side's output comparable with the other's: its own
// names become placeholders, noise lines go, JSON is re-printed with sorted
// members and volatile values masked, the step's own masks apply, and the
// lines of an unordered listing are sorted.
func normalize(s *side, raw string, st step) string {
	out := s.repl.Replace(raw)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !noise.MatchString(l) {
			lines = append(lines, logStamp.ReplaceAllString(strings.TrimRight(l, " \t\r"), "{time} [{thread}] "))
		}
	}
	out = strings.TrimSpace(strings.Join(lines, "\n"))
	if j, ok := canonicalJSON(out, st.mask); ok {
		out = j
	}
	if st.norm != nil {
		out = st.norm(out)
	}
	if st.unordered {
		ls := strings.Split(out, "\n")
		slices.Sort(ls)
		out = strings.Join(ls, "\n")
	}
	return out
}

// canonicalJSON re-prints out when it is JSON, with sorted members and
// volatile and masked values replaced by their type. Several documents one
// after the other (functions-worker function-stats prints one per instance)
// are each re-printed and put in order.
func canonicalJSON(out string, mask []string) (string, bool) {
	if out == "" || (out[0] != '{' && out[0] != '[') {
		return "", false
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var docs []string
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false
		}
		v = maskValues(v, "", mask)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", false
		}
		docs = append(docs, strings.TrimSpace(b.String()))
	}
	slices.Sort(docs)
	return strings.Join(docs, "\n"), true
}

func maskValues(v any, key string, mask []string) any {
	if key != "" && (volatileKeys.MatchString(key) || slices.Contains(mask, key)) {
		return typeOf(v)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = maskValues(e, k, mask)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = maskValues(e, "", mask)
		}
		// Instances in the order of their ids: each worker lists them in
		// the order of its own assignment map.
		slices.SortStableFunc(v, func(a, b any) int {
			return cmp.Or(cmp.Compare(instanceID(a), instanceID(b)), cmp.Compare(member(a, "name"), member(b, "name")))
		})
		return v
	}
	return v
}

// member is the string member key of an object, or "".
func member(v any, key string) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m[key].(string)
		return s
	}
	return ""
}

// bracketed is a list as Java's List.toString prints it.
var bracketed = regexp.MustCompile(`\[([^\[\]]*)\]`)

// sortBracketed sorts the items of every bracketed list in out: a worker's
// assignments are printed in the order of its own map.
func sortBracketed(out string) string {
	return bracketed.ReplaceAllStringFunc(out, func(l string) string {
		items := strings.Split(l[1:len(l)-1], ", ")
		slices.Sort(items)
		return "[" + strings.Join(items, ", ") + "]"
	})
}

// instanceID is the instanceId member of an instance's status or stats, or
// -1.
func instanceID(v any) int64 {
	if m, ok := v.(map[string]any); ok {
		if n, ok := m["instanceId"].(json.Number); ok {
			if id, err := n.Int64(); err == nil {
				return id
			}
		}
	}
	return -1
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "<null>"
	case json.Number:
		return "<number>"
	case string:
		return "<string>"
	case bool:
		return "<bool>"
	case []any:
		return "<array>"
	default:
		return "<object>"
	}
}

func TestNormalize(t *testing.T) {
	s := &side{repl: strings.NewReplacer("sbsj-1", "{ns}", "sbsj-worker", "{worker}")}
	tests := []struct {
		name string
		raw  string
		st   step
		want string
	}{
		{"names of the side", "Created public/sbsj-1/fn on sbsj-worker\n", step{}, "Created public/{ns}/fn on {worker}"},
		{"JVM noise dropped", "WARNING: An illegal reflective access\n\"Created successfully\"\n", step{}, `"Created successfully"`},
		{"JSON members sorted and volatile values masked",
			`{"workerId":"sbsj-worker","numInstances":1,"lastInvocationTime":123,"averageLatency":0.5,"name":"x"}`, step{},
			"{\n  \"averageLatency\": \"<number>\",\n  \"lastInvocationTime\": \"<number>\",\n  \"name\": \"x\",\n  \"numInstances\": 1,\n  \"workerId\": \"<string>\"\n}"},
		{"the step's masks", `{"numReceived":3,"numSuccessfullyProcessed":3}`, step{mask: []string{"numReceived"}},
			"{\n  \"numReceived\": \"<number>\",\n  \"numSuccessfullyProcessed\": 3\n}"},
		{"log lines' time and thread", "2026-12-02T13:30:40,194+0000 [AsyncHttpClient-7-1] WARN  x - failed\nFunction f doesn't exist", step{},
			"{time} [{thread}] WARN  x - failed\nFunction f doesn't exist"},
		{"bracketed lists sorted", "w1    [b:0, a:0]", step{norm: sortBracketed}, "w1    [a:0, b:0]"},
		{"objects by name", `[{"name":"b"},{"name":"a"}]`, step{},
			"[\n  {\n    \"name\": \"a\"\n  },\n  {\n    \"name\": \"b\"\n  }\n]"},
		{"documents one after the other, in order", "{\"name\":\"b\"}\n{\"name\":\"a\"}", step{},
			"{\n  \"name\": \"a\"\n}\n{\n  \"name\": \"b\"\n}"},
		{"unordered listing", "b\na\nc", step{unordered: true}, "a\nb\nc"},
		{"instances by id", `{"instances":[{"instanceId":1},{"instanceId":0}]}`, step{},
			"{\n  \"instances\": [\n    {\n      \"instanceId\": 0\n    },\n    {\n      \"instanceId\": 1\n    }\n  ]\n}"},
		{"text that is not JSON kept", "{not json", step{}, "{not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalize(s, tt.raw, tt.st); got != tt.want {
				t.Errorf("normalize(%q) =\n%s\nwant\n%s", tt.raw, got, tt.want)
			}
		})
	}
}
