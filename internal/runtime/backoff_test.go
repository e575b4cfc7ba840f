package runtime

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute, Reset: time.Minute}
	want := []time.Duration{1, 1, 2, 4, 8, 16, 32, 60, 60, 60}
	for n, w := range want {
		if got := b.Delay(n); got != w*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w*time.Second)
		}
	}
	if got := b.Delay(1000); got != time.Minute {
		t.Errorf("Delay(1000) = %v, want the cap", got)
	}
	odd := Backoff{Initial: 300 * time.Millisecond, Max: time.Second}
	if got := odd.Delay(3); got != time.Second {
		t.Errorf("Delay(3) = %v, want the 1s cap (not 1.2s)", got)
	}
}

func TestBackoffNext(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Minute, Reset: time.Minute}
	for _, tc := range []struct {
		failures int
		uptime   time.Duration
		want     int
	}{
		{0, 0, 1},
		{1, time.Second, 2},
		{5, 59 * time.Second, 6},
		{5, time.Minute, 1},
		{7, time.Hour, 1},
	} {
		if got := b.Next(tc.failures, tc.uptime); got != tc.want {
			t.Errorf("Next(%d, %v) = %d, want %d", tc.failures, tc.uptime, got, tc.want)
		}
	}
}
