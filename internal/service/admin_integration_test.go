package service

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/auth"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
)

// TestIntegrationAuthorizationCost measures what an uncached authorization
// check costs against the real broker (a tenant admin lookup and a namespace
// permissions lookup, as for a non-super-user on /admin/v3/functions), so the
// price of dropping the policy cache is known.
func TestIntegrationAuthorizationCost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs a Pulsar standalone")
	}
	svc, web := os.Getenv("PULSAR_SERVICE_URL"), os.Getenv("PULSAR_WEB_SERVICE_URL")
	if svc == "" || web == "" {
		// Nothing skips silently in CI.
		msg := `no Pulsar standalone: run eval "$(scripts/pulsar.sh up)" to set PULSAR_SERVICE_URL and PULSAR_WEB_SERVICE_URL`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Connect(ctx, broker.Options{ServiceURL: svc, WebServiceURL: web, MaxAttempts: 5,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("connect to %s: %v", web, err)
	}
	defer b.Close()
	a, err := auth.New(auth.Settings{AuthorizationEnabled: true, SuperUserRoles: []string{"super"}},
		auth.WithPolicies(Policies{P: connected(Connected{Admin: BrokerAdmin{Client: b.Admin}})}))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/admin/v3/functions/public/default", nil)
	check := func() {
		if _, err := a.AllowFunctionOps(ctx, "someone", r, "public", "default"); err != nil {
			t.Fatal(err)
		}
	}
	check() // warm the connection
	const n = 200
	start := time.Now()
	for range n {
		check()
	}
	uncached := time.Since(start) / n
	t.Logf("authorization check of a non-super-user (tenant admins + namespace permissions, uncached): %v", uncached)
	if uncached > 100*time.Millisecond {
		t.Errorf("an authorization check takes %v; the broker is too slow to go without a cache", uncached)
	}
}
