package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/version"
)

// workerMetrics are the worker's own Prometheus metrics. Names the Java
// worker also exports keep its pulsar_function_worker_ prefix; ours use
// pulsar_functions_worker_.
type workerMetrics struct {
	registry    *prometheus.Registry
	members     prometheus.Gauge
	startupTime prometheus.Gauge
	reload      reloadMetrics
	// stateSkipped counts state topic messages skipped as undecodable, by
	// topic: nonzero means something other than a worker wrote there.
	stateSkipped *prometheus.CounterVec
}

func newWorkerMetrics(clusterName string, d *Daemon) *workerMetrics {
	labels := prometheus.Labels{"cluster": clusterName}
	m := &workerMetrics{
		registry: prometheus.NewRegistry(),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulsar_functions_worker_cluster_members", ConstLabels: labels,
			Help: "Workers in the cluster, as the coordination topic's subscription lists them.",
		}),
		startupTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulsar_functions_worker_startup_seconds", ConstLabels: labels,
			Help: "Time from start until the worker had joined the cluster.",
		}),
		stateSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulsar_functions_worker_state_messages_skipped_total", ConstLabels: labels,
			Help: "Messages of the cluster's state topics skipped: undecodable ones on the metadata and assignments topics, any on the coordination topic.",
		}, []string{"topic"}),
	}
	m.reload = newReloadMetrics(m.registry)
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.members, m.startupTime, m.stateSkipped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pulsar_functions_worker_up", ConstLabels: labels,
			Help: "1 once the worker has joined the cluster and serves requests.",
		}, func() float64 { return b2f(d.Initialized()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pulsar_function_worker_is_leader", ConstLabels: labels,
			Help: "1 while this worker is the cluster's leader.",
		}, func() float64 { return b2f(d.IsLeader()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "pulsar_functions_worker_build_info",
			ConstLabels: prometheus.Labels{"version": version.Version, "pulsar_version": version.PulsarVersion},
			Help:        "Always 1; labels name the build.",
		}, func() float64 { return 1 }),
	)
	return m
}

// skipCounter is the Skipped callback of one state topic. It creates the
// topic's series at once, so dashboards see 0 rather than nothing.
func (m *workerMetrics) skipCounter(topic string) func() {
	c := m.stateSkipped.WithLabelValues(topic)
	return c.Inc
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
