package daemon

import (
	"errors"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/instmetrics"
)

// metricsGatherer is what GET /metrics serves: the worker's registry, then
// once the worker is initialized the Prometheus output of every local
// instance with a process, merged (Java's FunctionsStatsGenerator).
func (d *Daemon) metricsGatherer() prometheus.Gatherer {
	return &instmetrics.Gatherer{
		Own:     d.metrics.registry,
		Targets: d.metricsTargets,
		Log:     d.log.With("component", "metrics"),
	}
}

func (d *Daemon) metricsTargets() []instmetrics.Target {
	if !d.Initialized() || d.runtime == nil {
		return nil
	}
	var out []instmetrics.Target
	for _, in := range d.runtime.Instances() {
		if in.MetricsPort <= 0 || in.PID == 0 {
			continue
		}
		parts := strings.SplitN(in.FQFN, "/", 3)
		if len(parts) != 3 {
			continue
		}
		id := strconv.Itoa(in.InstanceID)
		var skip error
		if in.Unresponsive != "" {
			// It fails its health checks: asking would only wait for the deadline.
			skip = errors.New("instance not responding: " + in.Unresponsive)
		}
		out = append(out, instmetrics.Target{
			Err:  skip,
			Name: in.FQFN + ":" + id,
			// Java fetches http://<local address>:<metricsPort> at the
			// root path; instances listen on every address.
			URL: "http://127.0.0.1:" + strconv.Itoa(in.MetricsPort) + "/",
			Labels: map[string]string{
				"tenant": parts[0], "namespace": parts[0] + "/" + parts[1], "name": parts[2],
				"instance_id": id, "cluster": d.cfg.PulsarFunctionsCluster, "fqfn": in.FQFN,
			},
		})
	}
	return out
}
