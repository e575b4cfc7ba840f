package runtime

import "time"

// Backoff is the restart delay schedule after crashes: Initial, doubling per
// consecutive crash, capped at Max. A crash after at least Reset of uptime
// counts as the first one again.
type Backoff struct {
	Initial, Max, Reset time.Duration
}

// Delay is the wait before restarting after the n-th consecutive crash (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Next returns the consecutive crash count after a crash that followed uptime,
// given the count before it.
func (b Backoff) Next(failures int, uptime time.Duration) int {
	if uptime >= b.Reset {
		return 1
	}
	return failures + 1
}
