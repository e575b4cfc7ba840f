package service

import (
	"context"
	"math"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/runtime"
)

// processStart stands for the JVM start time Java reports.
var processStart = time.Now()

// WorkerStats is the backend of /admin/v2/worker-stats.
type WorkerStats struct {
	P  *Parts
	gc *gcWindow
}

var _ api.WorkerStats = WorkerStats{}

// NewWorkerStats is the backend of /admin/v2/worker-stats over p.
func NewWorkerStats(p *Parts) WorkerStats { return WorkerStats{P: p, gc: &gcWindow{}} }

// gcWindow keeps Java's GC figures: counts and pause time of the last
// minute (JvmDefaultGCMetricsLogger refreshes once a minute).
type gcWindow struct {
	mu                 sync.Mutex
	at                 time.Time
	lastNum            uint32
	lastPause          uint64
	curNum, curPauseMs int64
}

func (g *gcWindow) update(ms *goruntime.MemStats) (count, pauseMs int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.at.IsZero() || time.Since(g.at) >= time.Minute {
		g.curNum = int64(ms.NumGC - g.lastNum)
		g.curPauseMs = int64((ms.PauseTotalNs - g.lastPause) / uint64(time.Millisecond))
		g.lastNum, g.lastPause, g.at = ms.NumGC, ms.PauseTotalNs, time.Now()
	}
	return g.curNum, g.curPauseMs
}

// WorkerMetrics lists the Java worker's JVM metrics under their Java
// names, from the Go runtime: the heap in use, the memory limit (GOMEMLIMIT,
// else what the runtime took from the system), OS threads, collections
// (all counted as "young"). Netty's direct-memory pool has no counterpart: 0.
func (s WorkerStats) WorkerMetrics(context.Context) []api.WorkerMetrics {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	maxMem := debug.SetMemoryLimit(-1)
	if maxMem == math.MaxInt64 {
		maxMem = int64(ms.Sys)
	}
	gcCount, gcPause := s.gc.update(&ms)
	return []api.WorkerMetrics{{
		Metrics: map[string]any{
			"jvm_start_time":             processStart.UnixMilli(),
			"jvm_heap_used":              ms.HeapAlloc,
			"jvm_max_memory":             maxMem,
			"jvm_total_memory":           ms.Sys,
			"jvm_direct_memory_used":     0,
			"jvm_max_direct_memory":      0,
			"jvm_thread_cnt":             pprof.Lookup("threadcreate").Count(),
			"jvm_gc_young_count":         gcCount,
			"jvm_gc_young_pause":         gcPause,
			"jvm_gc_old_count":           0,
			"jvm_gc_old_pause":           0,
			"fun_default_pool_allocated": 0,
			"fun_default_pool_used":      0,
		},
		Dimensions: map[string]string{"metric": "jvm_metrics"},
	}}
}

// FunctionsMetrics asks every local instance for its metrics at once; one
// that does not answer is listed with nil metrics (zeros), as in Java.
func (s WorkerStats) FunctionsMetrics(ctx context.Context) []api.InstanceMetrics {
	if s.P.Runtime == nil {
		return nil
	}
	list := s.P.Runtime.Instances()
	out := make([]api.InstanceMetrics, len(list))
	var wg sync.WaitGroup
	for i, in := range list {
		out[i].Name = runtime.InstanceKey(in.FQFN, in.InstanceID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			md, err := s.P.Runtime.Metrics(ctx, in.FQFN, in.InstanceID)
			if err != nil {
				s.P.Log.Debug("instance metrics", "instance", out[i].Name, "err", err)
				return
			}
			out[i].Metrics = md
		}()
	}
	wg.Wait()
	return out
}
