package packages

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// pulsarBroker connects to the standalone of scripts/pulsar.sh, or skips
// (fails under CI=true) when there is none. Under -short (make unit) it
// always skips, so unit runs never touch a broker.
func pulsarBroker(t *testing.T) *broker.Broker {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: unit tests only, this test needs a Pulsar standalone")
	}
	svc, web := os.Getenv("PULSAR_SERVICE_URL"), os.Getenv("PULSAR_WEB_SERVICE_URL")
	if svc == "" || web == "" {
		msg := `no Pulsar standalone: run eval "$(scripts/pulsar.sh up)" to set PULSAR_SERVICE_URL and PULSAR_WEB_SERVICE_URL`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Connect(ctx, broker.Options{ServiceURL: svc, WebServiceURL: web, MaxAttempts: 5, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("connect to %s: %v", web, err)
	}
	t.Cleanup(b.Close)
	return b
}

// testNamespace creates a namespace of its own for the test's package topics.
func testNamespace(t *testing.T, b *broker.Broker) string {
	t.Helper()
	ns := fmt.Sprintf("public/pfw-packages-it-%d", time.Now().UnixNano())
	if err := b.Admin.Namespaces().CreateNamespace(ns); err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		if err := b.Admin.Namespaces().DeleteNamespace(ns); err != nil {
			t.Logf("delete namespace %s: %v", ns, err)
		}
	})
	return ns
}

func randomPayload(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// logCapture collects log records for assertions.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
	t   testing.TB
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Log(strings.TrimRight(string(p), "\n"))
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func TestIntegrationTopicStorage(t *testing.T) {
	b := pulsarBroker(t)
	ns := testNamespace(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := Options{FunctionsNamespace: ns, WebServiceURL: os.Getenv("PULSAR_WEB_SERVICE_URL"), Replicas: 1}
	up := newStore(t, opts, b)
	second := newStore(t, opts, b) // another worker: its own download directory

	payload := randomPayload(t, 12<<20) // above the 5 MB maxMessageSize
	want := sha256.Sum256(payload)
	md := &pb.FunctionMetaData{FunctionDetails: javaFunction(), Version: 0, CreateTime: uint64(time.Now().UnixMilli())}
	start := time.Now()
	loc, err := up.Upload(ctx, md, bytes.NewReader(payload), "exclaim.jar")
	if err != nil {
		t.Fatal(err)
	}
	upTook := time.Since(start)
	p, err := ParsePath(loc.PackagePath)
	if err != nil || p.Kind != KindTopic || p.Tenant+"/"+p.Namespace != ns || loc.OriginalFileName != "exclaim.jar" {
		t.Fatalf("location %v (%v)", loc, err)
	}
	tn, _ := utils.GetTopicName(loc.PackagePath)
	if r, err := b.Admin.Topics().GetRetention(*tn, false); err != nil || r.RetentionTimeInMinutes != -1 || r.RetentionSizeInMB != -1 {
		t.Errorf("retention %+v, %v; want infinite", r, err)
	}
	if pd, err := b.Admin.Topics().GetPersistence(*tn); err != nil || pd.BookkeeperEnsemble != 1 || pd.BookkeeperAckQuorum != 1 {
		t.Errorf("persistence %+v, %v; want 1/1/1", pd, err)
	}

	md.PackageLocation = loc
	start = time.Now()
	path0, err := second.Fetch(ctx, &pb.Instance{FunctionMetaData: md, InstanceId: 0})
	if err != nil {
		t.Fatal(err)
	}
	downTook := time.Since(start)
	got, err := os.ReadFile(path0)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != want {
		t.Fatal("fetched package differs from the upload")
	}
	// A second instance on that worker does not download again.
	start = time.Now()
	if _, err := second.Fetch(ctx, &pb.Instance{FunctionMetaData: md, InstanceId: 1}); err != nil {
		t.Fatal(err)
	}
	t.Logf("12 MiB: upload %v (%.1f MiB/s), download %v (%.1f MiB/s), cached fetch %v",
		upTook.Round(time.Millisecond), 12/upTook.Seconds(), downTook.Round(time.Millisecond), 12/downTook.Seconds(),
		time.Since(start).Round(time.Millisecond))

	rc, err := up.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("Open streamed different bytes")
	}

	if err := up.Delete(ctx, loc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admin.Topics().GetStats(*tn); broker.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("topic still there after Delete: %v", err)
	}
	if err := up.Delete(ctx, loc); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := newStore(t, opts, b).Fetch(ctx, &pb.Instance{FunctionMetaData: md}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch after Delete = %v, want ErrNotFound", err)
	}
	if _, err := b.Admin.Topics().GetStats(*tn); broker.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("Fetch re-created the deleted topic: %v", err)
	}
}

func TestIntegrationTopicLimitsAndReplicas(t *testing.T) {
	b := pulsarBroker(t)
	ns := testNamespace(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Too large: stops at the limit and leaves no topic behind.
	small := newStore(t, Options{FunctionsNamespace: ns, MaxPackageBytes: 2 << 20}, b)
	src := &countingReader{r: bytes.NewReader(randomPayload(t, 6<<20))}
	md := &pb.FunctionMetaData{FunctionDetails: javaFunction()}
	if _, err := small.Upload(ctx, md, src, "big.jar"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Upload = %v, want ErrTooLarge", err)
	}
	if src.n > 2<<20+segmentSize {
		t.Fatalf("read %d bytes for a 2 MiB limit", src.n)
	}
	assertNoTopics(t, b, ns)

	// More replicas than the standalone's one bookie: the bookie count caps them.
	logs := &logCapture{t: t}
	s, err := New(Options{FunctionsNamespace: ns, WebServiceURL: os.Getenv("PULSAR_WEB_SERVICE_URL"), Replicas: 3, DownloadDirectory: t.TempDir()}, b,
		slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s.Upload(ctx, md, strings.NewReader("capped"), "a.jar")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "fewer bookies than numFunctionPackageReplicas") {
		t.Error("no warning about the bookie count")
	}
	checkRoundTrip(ctx, t, s, md, loc, "capped")

	// Without the count (a broker that does not tell), ledger creation fails
	// with ensemble 3, and the upload falls back to the namespace's persistence.
	s.skipBookieCheck = true
	start := time.Now()
	loc, err = s.Upload(ctx, md, strings.NewReader("fallback"), "a.jar")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upload with the persistence fallback took %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(logs.String(), "using the namespace's persistence") {
		t.Error("no warning about the fallback")
	}
	tn, _ := utils.GetTopicName(loc.PackagePath)
	if pd, err := b.Admin.Topics().GetPersistence(*tn); err == nil && pd != nil && pd.BookkeeperEnsemble != 0 {
		t.Errorf("persistence policy left at %+v", pd)
	}
	checkRoundTrip(ctx, t, s, md, loc, "fallback")

	// An empty package is a package too.
	loc, err = s.Upload(ctx, md, strings.NewReader(""), "empty.py")
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(ctx, t, s, md, loc, "")
}

func checkRoundTrip(ctx context.Context, t *testing.T, s *Store, md *pb.FunctionMetaData, loc *pb.PackageLocationMetaData, want string) {
	t.Helper()
	m := &pb.FunctionMetaData{FunctionDetails: md.FunctionDetails, PackageLocation: loc}
	p, err := s.Fetch(ctx, &pb.Instance{FunctionMetaData: m})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != want {
		t.Fatalf("fetched %q, want %q", got, want)
	}
	if err := s.Delete(ctx, loc); err != nil {
		t.Fatal(err)
	}
}

func assertNoTopics(t *testing.T, b *broker.Broker, ns string) {
	t.Helper()
	nsn, _ := utils.GetNamespaceName(ns)
	part, nonPart, err := b.Admin.Topics().List(*nsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(part)+len(nonPart) != 0 {
		t.Fatalf("topics left in %s: %v %v", ns, part, nonPart)
	}
}

func TestIntegrationPackageManagement(t *testing.T) {
	b := pulsarBroker(t)
	web := os.Getenv("PULSAR_WEB_SERVICE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resp, err := b.HTTP.Get(web + "/admin/v3/packages/function/public/default")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("the broker's packages service is off (%s: %s); the standalone needs enablePackagesManagement=true "+
			"(standalone -nfw skips the RocksDB-mode switch that turns it on)", resp.Status, strings.TrimSpace(string(body)))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := Options{PackageManagement: true, WebServiceURL: web}
	up := newStore(t, opts, b)
	second := newStore(t, opts, b)

	payload := randomPayload(t, 12<<20)
	want := sha256.Sum256(payload)
	fd := javaFunction()
	fd.Name = fmt.Sprintf("exclaim-%d", time.Now().UnixNano())
	md := &pb.FunctionMetaData{FunctionDetails: fd, Version: 2, CreateTime: uint64(time.Now().UnixMilli())}
	start := time.Now()
	loc, err := up.Upload(ctx, md, bytes.NewReader(payload), "exclaim.jar")
	if err != nil {
		t.Fatal(err)
	}
	upTook := time.Since(start)
	if wantPath := "function://public/default/" + fd.Name + "@2"; loc.PackagePath != wantPath {
		t.Fatalf("packagePath %s, want %s", loc.PackagePath, wantPath)
	}
	if _, err := up.Upload(ctx, md, strings.NewReader("again"), "exclaim.jar"); !errors.Is(err, ErrExists) {
		t.Fatalf("upload over an existing package = %v, want ErrExists", err)
	}
	md.PackageLocation = loc
	start = time.Now()
	p, err := second.Fetch(ctx, &pb.Instance{FunctionMetaData: md})
	if err != nil {
		t.Fatal(err)
	}
	downTook := time.Since(start)
	got, _ := os.ReadFile(p)
	if sha256.Sum256(got) != want {
		t.Fatal("fetched package differs from the upload")
	}
	t.Logf("12 MiB via packages service: upload %v (%.1f MiB/s), download %v (%.1f MiB/s)",
		upTook.Round(time.Millisecond), 12/upTook.Seconds(), downTook.Round(time.Millisecond), 12/downTook.Seconds())
	if err := up.Delete(ctx, loc); err != nil {
		t.Fatal(err)
	}
	if _, err := newStore(t, opts, b).Fetch(ctx, &pb.Instance{FunctionMetaData: md}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch after Delete = %v, want ErrNotFound", err)
	}
}
