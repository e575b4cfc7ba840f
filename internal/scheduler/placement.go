// Package scheduler decides which worker runs which function instance. The
// placement rules are pure functions (round robin, rebalance) with table
// tests; the leader's loop computes a round from the metadata, the members and
// the current assignments, and writes the assignments topic, which every
// worker follows.
package scheduler

import (
	"slices"
	"strconv"
)

// InstanceKey is the fully qualified instance id, tenant/namespace/name:id,
// the key of assignment messages.
func InstanceKey(fqfn string, id int32) string { return fqfn + ":" + strconv.Itoa(int(id)) }

// Place is the round-robin rule of the Java worker's RoundRobinScheduler:
// every unassigned instance goes to the available worker with the fewest
// instances, counting those placed in this round. load holds the current
// count per worker (missing = 0). Ties go to the smallest workerId, so the
// result is reproducible (Java's follows HashMap order).
func Place(unassigned []string, load map[string]int, workers []string) map[string]string {
	if len(workers) == 0 {
		return nil
	}
	count := make(map[string]int, len(workers))
	for _, w := range workers {
		count[w] = load[w]
	}
	sorted := slices.Sorted(slices.Values(workers))
	out := make(map[string]string, len(unassigned))
	for _, inst := range unassigned {
		best := sorted[0]
		for _, w := range sorted[1:] {
			if count[w] < count[best] {
				best = w
			}
		}
		out[inst] = best
		count[best]++
	}
	return out
}

// Rebalance is the Java worker's rebalance rule: repeatedly move the first
// instance of the busiest worker to the least busy one until their counts
// differ by at most one. assigned maps worker to its instances (sorted for
// reproducibility); the result maps each moved instance to its new worker.
func Rebalance(assigned map[string][]string, workers []string) map[string]string {
	lists := make(map[string][]string, len(workers))
	for _, w := range workers {
		lists[w] = slices.Sorted(slices.Values(assigned[w]))
	}
	sorted := slices.Sorted(slices.Values(workers))
	moves := map[string]string{}
	for len(sorted) > 1 {
		most, least := sorted[0], sorted[0]
		for _, w := range sorted[1:] {
			if len(lists[w]) > len(lists[most]) {
				most = w
			}
			if len(lists[w]) < len(lists[least]) {
				least = w
			}
		}
		if len(lists[most])-len(lists[least]) <= 1 {
			break
		}
		inst := lists[most][0]
		lists[most] = lists[most][1:]
		lists[least] = append(lists[least], inst)
		moves[inst] = least
	}
	return moves
}

// Drain is the Java worker's drain rule: the instances of worker drained,
// and those not assigned at all, go round robin (Place) over the other
// workers, counting what those already run. assigned maps worker to its
// instances; unassigned lists instances no worker has. Instances on workers
// missing from workers (dead ones) are not moved: the failure check does
// that. The result maps each placed instance to its new worker.
func Drain(assigned map[string][]string, unassigned []string, drained string, workers []string) map[string]string {
	others := make([]string, 0, len(workers))
	load := make(map[string]int, len(workers))
	for _, w := range workers {
		if w != drained {
			others = append(others, w)
			load[w] = len(assigned[w])
		}
	}
	moving := slices.Concat(assigned[drained], unassigned)
	slices.Sort(moving)
	moving = slices.Compact(moving)
	return Place(moving, load, others)
}
