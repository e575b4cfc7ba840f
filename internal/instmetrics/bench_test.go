package instmetrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkGather scrapes and merges N instances that answer like the Go
// fixture (test/gofunction), as GET /metrics does; bench/metrics.sh runs it.
// PFW_BENCH_INSTANCES (comma-free single number) adds one more size.
func BenchmarkGather(b *testing.B) {
	sizes := []int{10, 50, 200}
	if n, err := strconv.Atoi(os.Getenv("PFW_BENCH_INSTANCES")); err == nil && n > 0 {
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			targets := make([]Target, n)
			for i := range targets {
				body := goFixtureText(i)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write(body)
				}))
				b.Cleanup(srv.Close)
				targets[i] = target("f", srv.URL+"/", i)
			}
			g := &Gatherer{Own: ownRegistry(), Targets: func() []Target { return targets }, Timeout: 10 * time.Second, Log: quiet()}
			for b.Loop() {
				fams, err := g.Gather()
				if err != nil || len(fams) == 0 {
					b.Fatalf("Gather: %d families, %v", len(fams), err)
				}
			}
		})
	}
}

// goFixtureText is what test/gofunction's instance i serves.
func goFixtureText(i int) []byte {
	labels := fmt.Sprintf(`tenant="public",namespace="public/default",name="f",instance_id="id-%d",cluster="standalone",fqfn="public/default/f"`, i)
	var out []byte
	for _, name := range []string{"processed_successfully_total", "system_exceptions_total", "user_exceptions_total",
		"last_invocation", "received_total", "processed_successfully_total_1min", "system_exceptions_total_1min",
		"user_exceptions_total_1min", "received_total_1min"} {
		n := "pulsar_function_" + name
		out = fmt.Appendf(out, "# HELP %s help.\n# TYPE %s gauge\n%s{%s} %d\n", n, n, n, labels, i)
	}
	n := "pulsar_function_process_latency_ms"
	out = fmt.Appendf(out, "# HELP %s help.\n# TYPE %s summary\n%s_sum{%s} 1.5\n%s_count{%s} 3\n", n, n, n, labels, n, labels)
	return out
}
