package scheduler

import (
	"maps"
	"strconv"
	"testing"
)

func TestPlace(t *testing.T) {
	tests := []struct {
		name       string
		unassigned []string
		load       map[string]int
		workers    []string
		want       map[string]string
	}{
		{name: "no workers", unassigned: []string{"a:0"}, want: nil},
		{name: "round robin over equal workers",
			unassigned: []string{"f:0", "f:1", "f:2"}, workers: []string{"w2", "w1"},
			want: map[string]string{"f:0": "w1", "f:1": "w2", "f:2": "w1"}},
		{name: "fills the least loaded first",
			unassigned: []string{"g:0", "g:1"}, load: map[string]int{"w1": 3, "w2": 1}, workers: []string{"w1", "w2", "w3"},
			want: map[string]string{"g:0": "w3", "g:1": "w2"}},
		{name: "load of workers not available is ignored",
			unassigned: []string{"h:0"}, load: map[string]int{"dead": 0, "w1": 2}, workers: []string{"w1"},
			want: map[string]string{"h:0": "w1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Place(tt.unassigned, tt.load, tt.workers); !maps.Equal(got, tt.want) {
				t.Fatalf("Place = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRebalance(t *testing.T) {
	tests := []struct {
		name     string
		assigned map[string][]string
		workers  []string
		want     map[string]string
	}{
		{name: "balanced: nothing moves", assigned: map[string][]string{"w1": {"a:0", "a:1"}, "w2": {"a:2"}},
			workers: []string{"w1", "w2"}, want: map[string]string{}},
		{name: "new empty worker takes half",
			assigned: map[string][]string{"w1": {"a:0", "a:1", "a:2", "a:3"}},
			workers:  []string{"w1", "w2"}, want: map[string]string{"a:0": "w2", "a:1": "w2"}},
		{name: "three workers",
			assigned: map[string][]string{"w1": {"a:0", "a:1", "a:2", "a:3", "a:4", "a:5"}},
			workers:  []string{"w1", "w2", "w3"},
			want:     map[string]string{"a:0": "w2", "a:1": "w3", "a:2": "w2", "a:3": "w3"}},
		{name: "a third worker joins late: one instance from each of the others",
			assigned: map[string][]string{"w1": {"a:0", "a:2", "a:4"}, "w2": {"a:1", "a:3", "a:5"}},
			workers:  []string{"w1", "w2", "w3"},
			want:     map[string]string{"a:0": "w3", "a:1": "w3"}},
		{name: "instances of workers not available are left alone",
			assigned: map[string][]string{"dead": {"d:0", "d:1", "d:2"}, "w1": {"a:0"}},
			workers:  []string{"w1", "w2"}, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rebalance(tt.assigned, tt.workers); !maps.Equal(got, tt.want) {
				t.Fatalf("Rebalance = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInstanceKey(t *testing.T) {
	if k := InstanceKey("t/ns/f:x", 12); k != "t/ns/f:x:12" {
		t.Fatalf("InstanceKey = %q, want t/ns/f:x:12", k)
	}
}

// BenchmarkPlace places 1000 instances over 20 workers.
func BenchmarkPlace(b *testing.B) {
	workers := make([]string, 20)
	for i := range workers {
		workers[i] = "worker-" + strconv.Itoa(i)
	}
	unassigned := make([]string, 1000)
	for i := range unassigned {
		unassigned[i] = InstanceKey("public/default/f", int32(i))
	}
	for b.Loop() {
		Place(unassigned, nil, workers)
	}
}
