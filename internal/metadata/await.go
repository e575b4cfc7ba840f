package metadata

import (
	"context"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// awaitPoll is how often AwaitLocal looks at the view.
const awaitPoll = 50 * time.Millisecond

// Reflects reports whether this worker's view shows a write of md (or, with
// del, its deletion): the function at md's version or later, or (deleted)
// absent or re-created at a later version.
func (m *Manager) Reflects(md *pb.FunctionMetaData, del bool) bool {
	d := md.GetFunctionDetails()
	cur, ok := m.Get(d.GetTenant(), d.GetNamespace(), d.GetName())
	switch {
	case del:
		return !ok || cur.GetVersion() > md.GetVersion()
	default:
		return ok && cur.GetVersion() >= md.GetVersion()
	}
}

// AwaitLocal is write-then-observe: it waits, at most within or until ctx
// ends, until this worker's view reflects a write that another worker (the
// leader) made, so a client that reads back from this worker sees what it
// wrote. It reports whether the view does.
func (m *Manager) AwaitLocal(ctx context.Context, md *pb.FunctionMetaData, del bool, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if m.Reflects(md, del) {
			return true
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return false
		}
		t := time.NewTimer(min(awaitPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}
