package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

func TestParseWorkerInfo(t *testing.T) {
	tests := []struct {
		in      string
		want    WorkerInfo
		wantErr bool
	}{
		{in: "w1:host-a:6750", want: WorkerInfo{"w1", "host-a", 6750}},
		{in: "c-standalone-fw-localhost-8080:localhost:8080", want: WorkerInfo{"c-standalone-fw-localhost-8080", "localhost", 8080}},
		{in: "w1:host", wantErr: true},
		{in: "w1:::1:6750", wantErr: true}, // IPv6 literals break the Java format too
		{in: "w1:host:http", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseWorkerInfo(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseWorkerInfo(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

type fakeStats struct {
	st  utils.TopicStats
	err error
}

func (f fakeStats) TopicStats(context.Context, string) (utils.TopicStats, error) { return f.st, f.err }

func consumer(name string, id string) utils.ConsumerStats {
	c := utils.ConsumerStats{ConsumerName: name}
	if id != "" {
		c.Metadata = map[string]string{"id": id}
	}
	return c
}

func TestMembersAndLeaderFromTopicStats(t *testing.T) {
	sub := utils.SubscriptionStats{
		ActiveConsumerName: "b:h2:2",
		Consumers: []utils.ConsumerStats{
			consumer("c:h3:3", "c:h3:3"),
			consumer("b:h2:2", "b:h2:2"),
			consumer("stray", ""), // not a worker: skipped
			consumer("a:h1:1", "a:h1:1"),
		},
	}
	m := &Membership{stats: fakeStats{st: utils.TopicStats{Subscriptions: map[string]utils.SubscriptionStats{Subscription: sub}}},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	members, err := m.Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []WorkerInfo{{"a", "h1", 1}, {"b", "h2", 2}, {"c", "h3", 3}}
	if len(members) != len(want) {
		t.Fatalf("members = %v, want %v", members, want)
	}
	for i := range want {
		if members[i] != want[i] {
			t.Fatalf("members = %v, want %v", members, want)
		}
	}
	leader, err := m.Leader(context.Background())
	if err != nil || leader != (WorkerInfo{"b", "h2", 2}) {
		t.Fatalf("leader = %v, %v", leader, err)
	}

	sub.ActiveConsumerName = ""
	m.stats = fakeStats{st: utils.TopicStats{Subscriptions: map[string]utils.SubscriptionStats{Subscription: sub}}}
	if _, err := m.Leader(context.Background()); !errors.Is(err, ErrLeaderUnknown) {
		t.Fatalf("no active consumer: err = %v, want ErrLeaderUnknown", err)
	}
}
