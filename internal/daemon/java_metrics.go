package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// javaMetrics are the worker metrics the Java worker's WorkerStatsManager
// exports, with its names, help texts, label (cluster) and quantiles, so
// dashboards built for it keep working. The leader-only gauges appear only
// on the leader, as in Java. Not observed yet: the instance start and stop
// process times (the runtime does not report them), which stay at count 0.
type javaMetrics struct {
	startUp                            prometheus.Summary
	schedule, scheduleStrategy         prometheus.Summary
	rebalance, rebalanceStrategy       prometheus.Summary
	drain, stopInstance, startInstance prometheus.Summary
}

const javaWorkerPrefix = "pulsar_function_worker_"

func newJavaMetrics(d *Daemon, reg *prometheus.Registry) *javaMetrics {
	labels := prometheus.Labels{"cluster": d.cfg.PulsarFunctionsCluster}
	quantiles := map[float64]float64{0.5: 0.01, 0.9: 0.01, 1: 0.01}
	summary := func(name, help string, q map[float64]float64) prometheus.Summary {
		return prometheus.NewSummary(prometheus.SummaryOpts{Name: javaWorkerPrefix + name, Help: help, ConstLabels: labels, Objectives: q})
	}
	m := &javaMetrics{
		startUp:           summary("start_up_time_ms", "Worker service startup time in milliseconds.", nil),
		schedule:          summary("schedule_execution_time_total_ms", "Total execution time of schedule in milliseconds.", quantiles),
		scheduleStrategy:  summary("schedule_strategy_execution_time_ms", "Execution time of schedule strategy in milliseconds.", quantiles),
		rebalance:         summary("rebalance_execution_time_total_ms", "Total execution time of a rebalance in milliseconds.", quantiles),
		rebalanceStrategy: summary("rebalance_strategy_execution_time_ms", "Execution time of rebalance strategy in milliseconds.", quantiles),
		stopInstance:      summary("stop_instance_process_time_ms", "Stopping instance process time in milliseconds.", quantiles),
		startInstance:     summary("start_instance_process_time_ms", "Starting instance process time in milliseconds.", quantiles),
		drain:             summary("drain_execution_time_total_ms", "Total execution time of a drain in milliseconds.", quantiles),
	}
	reg.MustRegister(m.startUp, m.schedule, m.scheduleStrategy, m.rebalance, m.rebalanceStrategy, m.stopInstance, m.startInstance, m.drain,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: javaWorkerPrefix + "instance_count", Help: "Number of instances run by this worker.", ConstLabels: labels},
			func() float64 {
				if !d.Initialized() { // d.runtime is set before, not atomically
					return 0
				}
				return float64(len(d.runtime.Instances()))
			}),
		leaderGauges{d: d, labels: labels},
	)
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// observe is the scheduler's OpTimer.
func (m *javaMetrics) observe(kind string, total, strategy time.Duration) {
	switch kind {
	case "schedule":
		m.schedule.Observe(ms(total))
		m.scheduleStrategy.Observe(ms(strategy))
	case "rebalance":
		m.rebalance.Observe(ms(total))
		m.rebalanceStrategy.Observe(ms(strategy))
	case "drain":
		m.drain.Observe(ms(total))
	}
}

// leaderGauges are Java's leader-only gauges: the number of functions and
// of instances the metadata asks for.
type leaderGauges struct {
	d      *Daemon
	labels prometheus.Labels
}

func (g leaderGauges) descs() (fns, insts *prometheus.Desc) {
	return prometheus.NewDesc(javaWorkerPrefix+"total_function_count", "Number of functions in the cluster (leader only).", nil, g.labels),
		prometheus.NewDesc(javaWorkerPrefix+"total_expected_instance_count", "Number of instances the functions ask for (leader only).", nil, g.labels)
}

func (g leaderGauges) Describe(ch chan<- *prometheus.Desc) {
	fns, insts := g.descs()
	ch <- fns
	ch <- insts
}

func (g leaderGauges) Collect(ch chan<- prometheus.Metric) {
	if !g.d.leading.Load() || g.d.meta == nil {
		return
	}
	all := g.d.meta.All()
	var instances int64
	for _, md := range all {
		instances += int64(md.GetFunctionDetails().GetParallelism())
	}
	fns, insts := g.descs()
	ch <- prometheus.MustNewConstMetric(fns, prometheus.GaugeValue, float64(len(all)))
	ch <- prometheus.MustNewConstMetric(insts, prometheus.GaugeValue, float64(instances))
}
