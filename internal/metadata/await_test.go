package metadata

import (
	"context"
	"testing"
	"time"
)

// TestReflects: the rule by which a worker sees its write applied.
func TestReflects(t *testing.T) {
	tests := []struct {
		name  string
		have  int64 // -1: absent
		write int64
		del   bool
		want  bool
	}{
		{"update seen", 3, 3, false, true},
		{"later update seen", 4, 3, false, true},
		{"older version", 2, 3, false, false},
		{"absent", -1, 3, false, false},
		{"delete seen", -1, 3, true, true},
		{"still there", 3, 3, true, false},
		{"re-created after the delete", 4, 3, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newView()
			if tt.have >= 0 {
				v.set("public/default/f", fn("f", uint64(tt.have)), false)
			}
			if got := v.Reflects(fn("f", uint64(tt.write)), tt.del); got != tt.want {
				t.Errorf("Reflects = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAwaitLocal: it returns once the view catches up, and gives up at its
// bound or when its caller goes away.
func TestAwaitLocal(t *testing.T) {
	t.Run("caught up later", func(t *testing.T) {
		v := newView()
		go func() {
			time.Sleep(100 * time.Millisecond)
			v.set("public/default/f", fn("f", 1), false)
		}()
		if !v.AwaitLocal(context.Background(), fn("f", 1), false, time.Minute) {
			t.Error("AwaitLocal = false, want true once the view has the write")
		}
	})
	t.Run("never", func(t *testing.T) {
		if newView().AwaitLocal(context.Background(), fn("f", 1), false, 200*time.Millisecond) {
			t.Error("AwaitLocal = true for a write the view never shows")
		}
	})
	t.Run("caller gone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if newView().AwaitLocal(ctx, fn("f", 1), false, time.Minute) {
			t.Error("AwaitLocal = true with a cancelled context")
		}
	})
}
