package state

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state/bkpb"
)

func TestStateNamespace(t *testing.T) {
	tests := []struct{ tenant, namespace, want string }{
		{"public", "default", "public_default"},
		{"my-tenant", "my-ns", "my_tenant_my_ns"},
		{"a_b", "c", "a_b_c"},
		{"t-", "-n", "t___n"},
	}
	for _, tc := range tests {
		if got := StateNamespace(tc.tenant, tc.namespace); got != tc.want {
			t.Errorf("StateNamespace(%q, %q) = %q, want %q", tc.tenant, tc.namespace, got, tc.want)
		}
	}
}

func TestParseServiceURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"bk://127.0.0.1:4181", "127.0.0.1:4181", true},
		{"bk://state.example.com:4181", "state.example.com:4181", true},
		{"bk://127.0.0.1", "", false},
		{"http://127.0.0.1:4181", "", false},
		{"127.0.0.1:4181", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := ParseServiceURL(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseServiceURL(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The table configuration Java's BKStateStoreProviderImpl creates:
// ProtocolConstants.DEFAULT_STREAM_CONF with 4 ranges and TABLE storage.
func TestTableConfig(t *testing.T) {
	c := TableConfig()
	if c.GetKeyType() != bkpb.RangeKeyType_HASH || c.GetInitialNumRanges() != 4 || c.GetMinNumRanges() != 4 ||
		c.GetStorageType() != bkpb.StorageType_TABLE || c.GetSplitPolicy().GetFixedRangePolicy().GetNumRanges() != 2 ||
		c.GetRollingPolicy().GetSizePolicy().GetMaxSegmentSize() != 128<<20 ||
		c.GetRetentionPolicy().GetTimePolicy().GetRetentionMinutes() != -1 {
		t.Errorf("TableConfig() = %v", c)
	}
}

// storageURL is the shared standalone's stream storage (PULSAR_STATE_STORAGE_URL,
// set by scripts/pulsar.sh with PFW_PULSAR_STREAM_STORAGE=1). Without it the
// test is skipped locally and fails under CI=true; under -short it is
// always skipped.
func storageURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs the standalone's stream storage")
	}
	u := os.Getenv("PULSAR_STATE_STORAGE_URL")
	if u == "" {
		why := "no stream storage: PULSAR_STATE_STORAGE_URL unset (run `make test`, which starts the standalone with PFW_PULSAR_STREAM_STORAGE=1)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", why)
		}
		t.Skip(why)
	}
	return u
}

// Against the standalone's table service: a fresh table is created on first
// use; put, get, increment, delete and table deletion behave as the Java
// instances see them.
func TestClientAgainstStreamStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs stream storage")
	}
	u := storageURL(t)
	c, err := Dial(u, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	tenant, ns := "state-it", "ns-"+time.Now().Format("150405.000000")
	fn := "fn"
	t.Cleanup(func() { _ = c.DeleteTable(context.Background(), tenant, ns, fn) })

	if _, err := c.Get(ctx, tenant, ns, fn, "missing"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Get(missing) on a new table: %v, want ErrKeyNotFound", err)
	}
	if err := c.Put(ctx, tenant, ns, fn, "greeting", []byte("hello")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	v, err := c.Get(ctx, tenant, ns, fn, "greeting")
	if err != nil || string(v.Bytes) != "hello" || v.IsNumber || v.Version < 0 {
		t.Fatalf("Get(greeting) = %+v, %v", v, err)
	}
	if err := c.Put(ctx, tenant, ns, fn, "greeting", []byte("again")); err != nil {
		t.Fatalf("Put again: %v", err)
	}
	v2, err := c.Get(ctx, tenant, ns, fn, "greeting")
	if err != nil || string(v2.Bytes) != "again" || v2.Version <= v.Version {
		t.Fatalf("Get(greeting) after second put = %+v (first %+v), %v", v2, v, err)
	}

	for _, step := range []int64{3, 4} {
		if _, err := c.Increment(ctx, tenant, ns, fn, "count", step); err != nil {
			t.Fatalf("Increment: %v", err)
		}
	}
	n, err := c.Get(ctx, tenant, ns, fn, "count")
	if err != nil || !n.IsNumber || n.Number != 7 || len(n.Bytes) != 8 || int64(binary.BigEndian.Uint64(n.Bytes)) != 7 {
		t.Fatalf("Get(count) = %+v, %v; want a counter of 7 with its 8-byte big-endian form", n, err)
	}

	if err := c.Delete(ctx, tenant, ns, fn, "greeting"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Get(ctx, tenant, ns, fn, "greeting"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrKeyNotFound", err)
	}

	// A second client (another worker, or an instance) sees the same table.
	c2, err := Dial(u, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n2, err := c2.Get(ctx, tenant, ns, fn, "count"); err != nil || n2.Number != 7 {
		t.Fatalf("second client Get(count) = %+v, %v", n2, err)
	}

	if ok, err := c.TableExists(ctx, tenant, ns, fn); !ok || err != nil {
		t.Fatalf("TableExists before DeleteTable = %v, %v", ok, err)
	}
	if err := c.DeleteTable(ctx, tenant, ns, fn); err != nil {
		t.Fatalf("DeleteTable: %v", err)
	}
	if ok, err := c.TableExists(ctx, tenant, ns, fn); ok || err != nil {
		t.Fatalf("TableExists after DeleteTable = %v, %v", ok, err)
	}
	if err := c.DeleteTable(ctx, tenant, ns, fn); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("DeleteTable twice: %v, want ErrTableNotFound", err)
	}

	// A function created again under the same name gets a new, empty table;
	// a client that used the old one finds the new one.
	if err := c.Put(ctx, tenant, ns, fn, "greeting", []byte("reborn")); err != nil {
		t.Fatalf("Put into the new table: %v", err)
	}
	if v, err := c2.Get(ctx, tenant, ns, fn, "greeting"); err != nil || string(v.Bytes) != "reborn" {
		t.Fatalf("second client Get(greeting) from the new table = %+v, %v", v, err)
	}
	if _, err := c2.Get(ctx, tenant, ns, fn, "count"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("second client Get(count) from the new table: %v, want ErrKeyNotFound", err)
	}
}
