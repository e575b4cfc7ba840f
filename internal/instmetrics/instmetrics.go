// Package instmetrics serves the worker's /metrics as the Java worker does
// (FunctionsStatsGenerator): the worker's own metrics followed by the
// Prometheus output of every instance it runs, scraped from each instance's
// metrics port. Unlike Java, which concatenates the texts (so families
// repeat their HELP/TYPE lines and a strict parser refuses the page), the
// families are merged: one HELP/TYPE per name, every instance's series
// under it.
//
// Instances are scraped concurrently, each under a short deadline within one
// overall deadline, so a slow or dead instance costs at most its own
// deadline and never fails the page: its series are left out and the
// failure is counted. An instance already known not to answer (Target.Err)
// is not asked at all.
package instmetrics

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// Defaults of Gatherer's settings: the timeout stays under Prometheus' default
// scrape_timeout (10 s) with room for the worker's own work.
// The per-target timeout keeps a hung instance (its kernel accepts the
// connection, nothing answers) from holding every scrape for the whole
// DefaultTimeout: one answers on loopback in milliseconds.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultTargetTimeout = 2 * time.Second
	DefaultParallel      = 64
	maxBody              = 32 << 20
)

// FailuresMetric names the gauge that counts the instances whose metrics
// could not be read in the scrape that reports it.
const FailuresMetric = "pulsar_functions_worker_instance_metrics_failures"

// Target is one instance's metrics endpoint.
type Target struct {
	// Name identifies the instance in logs (tenant/namespace/name:id).
	Name string
	// URL is what is fetched (Java: http://<host>:<metricsPort>, root path).
	URL string
	// Labels are added to the instance's series that lack an "fqfn" label
	// (its runtime's JVM, process or Python metrics), so that series of
	// different instances stay distinct; labels a series has are kept.
	Labels map[string]string
	// Err, when set, says why the target is not to be asked now (e.g. its
	// instance fails its health checks): it counts as a failed scrape.
	Err error
}

// Gatherer is a prometheus.Gatherer: Own's families merged with those of
// every target.
type Gatherer struct {
	// Own is the worker's registry.
	Own prometheus.Gatherer
	// Targets lists the instances to scrape now.
	Targets func() []Target
	// Timeout bounds the whole scrape of the instances (DefaultTimeout).
	Timeout time.Duration
	// TargetTimeout bounds the scrape of one instance (DefaultTargetTimeout).
	TargetTimeout time.Duration
	// Parallel bounds the scrapes under way at once (DefaultParallel).
	Parallel int
	// Client fetches the targets; nil: a client for loopback endpoints.
	Client *http.Client
	Log    *slog.Logger
}

// Scraped is one target's parsed families, or why there are none.
type Scraped struct {
	Target   Target
	Families map[string]*dto.MetricFamily
	Err      error
}

var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
	MaxIdleConns:        0, // no limit: one kept connection per instance
	MaxIdleConnsPerHost: 1,
	IdleConnTimeout:     time.Minute,
	DisableCompression:  true,
}}

// Gather merges the worker's families with every instance's; instance
// failures are logged and counted, never returned.
func (g *Gatherer) Gather() ([]*dto.MetricFamily, error) {
	own, err := g.Own.Gather()
	if err != nil {
		return nil, err
	}
	var targets []Target
	if g.Targets != nil {
		targets = g.Targets()
	}
	if len(targets) == 0 {
		return own, nil
	}
	timeout := cmp.Or(g.Timeout, DefaultTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	scraped := scrapeAll(ctx, g.client(), targets, cmp.Or(g.Parallel, DefaultParallel), cmp.Or(g.TargetTimeout, DefaultTargetTimeout))
	failed := 0
	for _, s := range scraped {
		if s.Err != nil {
			failed++
			if g.Log != nil {
				g.Log.Debug("instance metrics not read", "instance", s.Target.Name, "url", s.Target.URL, "err", s.Err)
			}
		}
	}
	merged := Merge(own, scraped, g.Log)
	merged = append(merged, &dto.MetricFamily{
		Name:   proto.String(FailuresMetric),
		Help:   proto.String("Instances whose metrics endpoint did not answer with parsable metrics in this scrape."),
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(float64(failed))}}},
	})
	slices.SortFunc(merged, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return merged, nil
}

func (g *Gatherer) client() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	return defaultClient
}

// ScrapeAll fetches and parses every target concurrently, at most parallel
// at a time, until ctx ends; the result is in the targets' order. Targets
// with Err are not fetched.
func ScrapeAll(ctx context.Context, c *http.Client, targets []Target, parallel int) []Scraped {
	return scrapeAll(ctx, c, targets, parallel, 0)
}

// scrapeAll is ScrapeAll with each fetch bounded by perTarget (0: only ctx).
func scrapeAll(ctx context.Context, c *http.Client, targets []Target, parallel int, perTarget time.Duration) []Scraped {
	out := make([]Scraped, len(targets))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		out[i].Target = t
		if t.Err != nil {
			out[i].Err = fmt.Errorf("scrape %s: not asked: %w", t.URL, t.Err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				out[i].Err = fmt.Errorf("scrape %s: %w", t.URL, ctx.Err())
				return
			}
			tctx := ctx
			if perTarget > 0 {
				var cancel context.CancelFunc
				tctx, cancel = context.WithTimeout(ctx, perTarget)
				defer cancel()
			}
			out[i].Families, out[i].Err = scrape(tctx, c, t)
		}()
	}
	wg.Wait()
	return out
}

func scrape(ctx context.Context, c *http.Client, t Target) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", t.URL, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", t.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("scrape %s: %s", t.URL, resp.Status)
	}
	fams, err := parse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse metrics of %s: %w", t.URL, err)
	}
	return fams, nil
}

// parse reads an instance's page of Prometheus text (at most maxBody bytes).
func parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(io.LimitReader(r, maxBody))
}

// Merge puts the instances' families after own's: one family per name (the
// first one's help and type); a series of another type than its family's
// is converted when both are single values (counter, gauge, untyped: the
// Go SDK declares as gauges what Java and Python declare as counters) and
// left out otherwise; target labels added to series without
// "fqfn", and a series whose labels repeat one already in its family
// dropped. Targets with Err contribute nothing.
func Merge(own []*dto.MetricFamily, scraped []Scraped, log *slog.Logger) []*dto.MetricFamily {
	byName := make(map[string]*dto.MetricFamily, len(own))
	seen := map[string]map[string]bool{}
	out := make([]*dto.MetricFamily, 0, len(own))
	add := func(mf *dto.MetricFamily, m *dto.Metric) {
		sig := signature(m)
		if seen[mf.GetName()][sig] {
			return
		}
		seen[mf.GetName()][sig] = true
		mf.Metric = append(mf.Metric, m)
	}
	family := func(src *dto.MetricFamily) (*dto.MetricFamily, bool) {
		if mf, ok := byName[src.GetName()]; ok {
			if mf.GetHelp() == "" && src.GetHelp() != "" {
				mf.Help = proto.String(src.GetHelp())
			}
			return mf, mf.GetType() == src.GetType()
		}
		mf := &dto.MetricFamily{Name: proto.String(src.GetName()), Help: src.Help, Type: src.Type, Unit: src.Unit}
		byName[src.GetName()] = mf
		seen[src.GetName()] = map[string]bool{}
		out = append(out, mf)
		return mf, true
	}
	for _, src := range own {
		mf, _ := family(src)
		for _, m := range src.GetMetric() {
			add(mf, m)
		}
	}
	for _, s := range scraped {
		if s.Err != nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(s.Families)) {
			src := s.Families[name]
			mf, ok := family(src)
			convert := !ok && scalar(mf.GetType()) && scalar(src.GetType())
			if !ok && !convert {
				if log != nil {
					log.Debug("instance metric family has another type than the one already merged; left out",
						"instance", s.Target.Name, "family", name, "type", src.GetType(), "merged_type", mf.GetType())
				}
				continue
			}
			for _, m := range src.GetMetric() {
				if convert {
					m = asType(m, mf.GetType())
				}
				add(mf, withLabels(m, s.Target.Labels))
			}
		}
	}
	return out
}

// withLabels adds the target's labels a series without "fqfn" lacks and
// sorts the labels by name.
func withLabels(m *dto.Metric, labels map[string]string) *dto.Metric {
	has := map[string]bool{}
	for _, lp := range m.GetLabel() {
		has[lp.GetName()] = true
	}
	if !has["fqfn"] {
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if !has[k] {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(labels[k])})
			}
		}
	}
	slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	return m
}

// signature identifies a series within its family: its sorted label pairs.
func signature(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		pairs = append(pairs, strconv.Quote(lp.GetName())+"="+strconv.Quote(lp.GetValue()))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// scalar tells whether series of type t carry a single value.
func scalar(t dto.MetricType) bool {
	return t == dto.MetricType_COUNTER || t == dto.MetricType_GAUGE || t == dto.MetricType_UNTYPED
}

// asType moves a single-valued series' value to type t's field.
func asType(m *dto.Metric, t dto.MetricType) *dto.Metric {
	var v float64
	switch {
	case m.Counter != nil:
		v = m.GetCounter().GetValue()
	case m.Gauge != nil:
		v = m.GetGauge().GetValue()
	case m.Untyped != nil:
		v = m.GetUntyped().GetValue()
	}
	out := &dto.Metric{Label: m.Label, TimestampMs: m.TimestampMs}
	switch t {
	case dto.MetricType_COUNTER:
		out.Counter = &dto.Counter{Value: proto.Float64(v)}
	case dto.MetricType_GAUGE:
		out.Gauge = &dto.Gauge{Value: proto.Float64(v)}
	default:
		out.Untyped = &dto.Untyped{Value: proto.Float64(v)}
	}
	return out
}
