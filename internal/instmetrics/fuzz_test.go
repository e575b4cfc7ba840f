package instmetrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// FuzzGather feeds arbitrary Prometheus text, as an instance process (user
// code) can serve on its metrics port, to what the worker's /metrics does
// with it: parse each of two instances' pages as scrape does, merge them with
// the worker's own families. No panic, and the merged page always encodes (a
// bad instance page must not break /metrics). (Through Gather and an HTTP
// client the fuzzer managed a few executions a second; the HTTP part is
// covered by the unit tests.)
func FuzzGather(f *testing.F) {
	for _, name := range []string{"java_instance.txt", "python_instance.txt", "go_instance.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("pulsar_function_received_total{fqfn=\"x\"} 1\n"))
	}
	f.Add([]byte("# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_count 1\n"), []byte("# TYPE x counter\nx 1\n"))
	f.Add([]byte("process_cpu_seconds_total{fqfn=\"a\"} NaN\n"), []byte("# TYPE process_cpu_seconds_total summary\nprocess_cpu_seconds_total{quantile=\"0.5\"} 1\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		own, err := ownRegistry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var scraped []Scraped
		for i, body := range [][]byte{a, b} {
			s := Scraped{Target: target(string(rune('a'+i)), "", i)}
			s.Families, s.Err = parse(bytes.NewReader(body))
			scraped = append(scraped, s)
		}
		fams := Merge(own, scraped, quiet())
		var out bytes.Buffer
		enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range fams {
			if err := enc.Encode(mf); err != nil && !strings.Contains(err.Error(), "invalid metric name") {
				t.Fatalf("encode the merged %s: %v", mf.GetName(), err)
			}
		}
	})
}
