package instmetrics

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ownRegistry stands for the worker's registry: one Java-named worker
// metric and the process metrics instances export too.
func ownRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pulsar_function_worker_instance_count",
		Help: "Number of instances run by this worker.", ConstLabels: prometheus.Labels{"cluster": "standalone"}})
	g.Set(3)
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "Total user and system CPU time spent in seconds."})
	c.Add(1.5)
	reg.MustRegister(g, c)
	return reg
}

func serveFile(t *testing.T, name string) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func target(name, url string, id int) Target {
	return Target{Name: name + ":" + fmt.Sprint(id), URL: url, Labels: map[string]string{
		"tenant": "public", "namespace": "public/default", "name": name,
		"instance_id": fmt.Sprint(id), "cluster": "standalone", "fqfn": "public/default/" + name,
	}}
}

// encode writes families as /metrics does and checks that the Prometheus
// text parser reads the page back with one HELP and one TYPE per family.
func encode(t *testing.T, fams []*dto.MetricFamily) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range fams {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode %s: %v", mf.GetName(), err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("the merged page does not parse: %v\n%s", err, b.String())
	}
	types := map[string]int{}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			types[strings.Fields(l)[2]]++
		}
	}
	for name, n := range types {
		if n != 1 {
			t.Errorf("family %s has %d TYPE lines", name, n)
		}
	}
	return b.String(), parsed
}

func series(mf *dto.MetricFamily, label string) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

// A Java, a Python and a Go instance: their families merge into one page
// the golden file shows.
func TestMergeJavaPythonGo(t *testing.T) {
	own, err := ownRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var scraped []Scraped
	for i, inst := range []struct{ name, file string }{
		{"javafn", "java_instance.txt"}, {"pyfn", "python_instance.txt"}, {"gofn", "go_instance.txt"},
	} {
		name := inst.name
		body, err := os.ReadFile(filepath.Join("testdata", inst.file))
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("testdata of %s: %v", name, err)
		}
		scraped = append(scraped, Scraped{Target: target(name, "", i), Families: fams})
	}
	scraped = append(scraped, Scraped{Target: target("dead", "", 9), Err: fmt.Errorf("connection refused")})
	page, parsed := encode(t, Merge(own, scraped, quiet()))

	if got := series(parsed["pulsar_function_received_total"], "fqfn"); len(got) != 3 {
		t.Errorf("pulsar_function_received_total series by fqfn = %v, want the three instances", got)
	}
	// The worker's own process series keeps no instance labels; each
	// instance's gets its own.
	if got := series(parsed["process_cpu_seconds_total"], "fqfn"); strings.Join(got, " ") != "public/default/javafn public/default/pyfn" {
		t.Errorf("process_cpu_seconds_total instance series = %v", got)
	}
	if n := len(parsed["process_cpu_seconds_total"].GetMetric()); n != 3 {
		t.Errorf("process_cpu_seconds_total has %d series, want the worker's and two instances'", n)
	}
	golden(t, "merged.golden", page)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test -update", err)
	}
	if string(want) != got {
		t.Fatalf("merged page differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestMergeConflictingTypes(t *testing.T) {
	own := []*dto.MetricFamily{{Name: ptr("x"), Type: dto.MetricType_SUMMARY.Enum(),
		Metric: []*dto.Metric{{Summary: &dto.Summary{SampleCount: ptr(uint64(1)), SampleSum: ptr(2.0)}}}}}
	inst := map[string]*dto.MetricFamily{
		"x": {Name: ptr("x"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: ptr(1.0)}}}},
	}
	merged := Merge(own, []Scraped{{Target: target("f", "", 0), Families: inst}}, quiet())
	if n := len(merged[0].GetMetric()); n != 1 {
		t.Fatalf("summary x has %d series after merging a gauge x; want the gauge left out", n)
	}
}

func TestMergeDropsRepeatedSeries(t *testing.T) {
	mk := func() map[string]*dto.MetricFamily {
		return map[string]*dto.MetricFamily{"y": {Name: ptr("y"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{
			Label: []*dto.LabelPair{{Name: ptr("fqfn"), Value: ptr("t/n/f")}}, Gauge: &dto.Gauge{Value: ptr(1.0)}}}}}
	}
	merged := Merge(nil, []Scraped{{Target: target("f", "", 0), Families: mk()}, {Target: target("f", "", 1), Families: mk()}}, quiet())
	if n := len(merged[0].GetMetric()); n != 1 {
		t.Fatalf("%d series with the same labels, want 1", n)
	}
}

func ptr[T any](v T) *T { return &v }

// A slow instance (it answers only once the test ends), a dead one and one
// that answers garbage cost the scrape its deadline, not more, and do not
// fail it: the others' series are there and the failures are counted.
func TestGatherSurvivesSlowDeadAndBrokenInstances(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "this is { not prometheus\n")
	}))
	t.Cleanup(garbage.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/"
	l.Close()

	g := &Gatherer{
		Own: ownRegistry(),
		Targets: func() []Target {
			return []Target{
				target("javafn", serveFile(t, "java_instance.txt"), 0),
				target("slow", slow.URL+"/", 0),
				target("dead", dead, 0),
				target("garbage", garbage.URL+"/", 0),
				target("pyfn", serveFile(t, "python_instance.txt"), 0),
			}
		},
		Timeout: 500 * time.Millisecond,
		Log:     quiet(),
	}
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	_, parsed := encode(t, fams)
	if got := series(parsed["pulsar_function_received_total"], "fqfn"); len(got) != 2 {
		t.Errorf("received_total series %v, want javafn's and pyfn's", got)
	}
	if v := parsed[FailuresMetric].GetMetric()[0].GetGauge().GetValue(); v != 3 {
		t.Errorf("%s = %v, want 3", FailuresMetric, v)
	}
}

func TestGatherWithoutInstancesIsTheRegistry(t *testing.T) {
	g := &Gatherer{Own: ownRegistry(), Targets: func() []Target { return nil }}
	fams, err := g.Gather()
	if err != nil || len(fams) != 2 {
		t.Fatalf("Gather = %d families, %v; want the registry's 2", len(fams), err)
	}
}

// One hung instance (its port accepts, nothing answers, as a process stopped
// with SIGSTOP) holds the page for its own short deadline, not the whole
// scrape's; an instance already known to hang (Target.Err) is not asked and
// holds it for nothing (issue 12).
func TestGatherBoundsEachInstance(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	var asked atomic.Int64
	known := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(known.Close)
	for _, tc := range []struct {
		name    string
		targets []Target
		within  time.Duration
	}{
		{"hung", []Target{target("javafn", serveFile(t, "java_instance.txt"), 0), target("hung", hung.URL+"/", 0)}, DefaultTimeout - time.Second},
		{"known to hang", []Target{target("javafn", serveFile(t, "java_instance.txt"), 0),
			func() Target {
				tg := target("known", known.URL+"/", 0)
				tg.Err = errors.New("health checks fail")
				return tg
			}()}, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Gatherer{Own: ownRegistry(), Targets: func() []Target { return tc.targets }, Log: quiet()}
			start := time.Now()
			fams, err := g.Gather()
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Gather took %v", took.Round(time.Millisecond))
			if took > tc.within {
				t.Errorf("Gather took %v, want at most %v", took.Round(time.Millisecond), tc.within)
			}
			_, parsed := encode(t, fams)
			if got := series(parsed["pulsar_function_received_total"], "fqfn"); len(got) != 1 {
				t.Errorf("received_total series %v, want javafn's", got)
			}
			if v := parsed[FailuresMetric].GetMetric()[0].GetGauge().GetValue(); v != 1 {
				t.Errorf("%s = %v, want 1", FailuresMetric, v)
			}
		})
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the instance known to hang was asked %d times", n)
	}
}
