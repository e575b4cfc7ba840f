package packages

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/broker"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// gzipServer records the Accept-Encoding of every request and, like the
// broker's Jetty, compresses a body when the client accepts gzip.
type gzipServer struct {
	mu        sync.Mutex
	encodings []string // "METHOD path: Accept-Encoding"
	payload   []byte
}

func (g *gzipServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.encodings = append(g.encodings, r.Method+" "+r.URL.Path+": "+r.Header.Get("Accept-Encoding"))
	g.mu.Unlock()
	var body []byte
	switch {
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, "/pkg/exclaim.jar", http.StatusFound)
		return
	case strings.HasSuffix(r.URL.Path, "/metadata"):
		sum := sha256.Sum256(g.payload)
		body, _ = json.Marshal(packageMetadata{Properties: map[string]string{pkgPropSHA256: hex.EncodeToString(sum[:])}})
	default:
		body = g.payload
	}
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(body)
		zw.Close()
		return
	}
	w.Write(body)
}

func (g *gzipServer) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.encodings...)
}

// TestDownloadsAskForIdentity: every download path (the packages service
// for instances and for the REST API, a user's http URL, after a redirect
// too) asks for identity encoding, so the broker does not gzip packages on
// the fly, and the bytes arrive as sent.
func TestDownloadsAskForIdentity(t *testing.T) {
	g := &gzipServer{payload: bytes.Repeat([]byte("package bytes "), 1<<16)}
	srv := httptest.NewServer(g)
	defer srv.Close()
	o := Options{PackageManagement: true, WebServiceURL: srv.URL, AdditionalFunctionsURLPatterns: []string{`http://127\.0\.0\.1:\d+/.*`}}
	b := &broker.Broker{HTTP: srv.Client()}
	ctx := context.Background()
	tests := []struct {
		name string
		path string
		open bool // Open (REST download) rather than Fetch (instance)
		want []string
	}{
		{name: "package service, instance", path: "function://public/default/exclaim@1", want: []string{
			"GET /admin/v3/packages/function/public/default/exclaim/1/metadata: identity",
			"GET /admin/v3/packages/function/public/default/exclaim/1: identity"}},
		{name: "package service, REST download", path: "function://public/default/exclaim@1", open: true, want: []string{
			"GET /admin/v3/packages/function/public/default/exclaim/1/metadata: identity",
			"GET /admin/v3/packages/function/public/default/exclaim/1: identity"}},
		{name: "user URL, instance", path: srv.URL + "/pkg/exclaim.jar", want: []string{"GET /pkg/exclaim.jar: identity"}},
		{name: "user URL through a redirect", path: srv.URL + "/redirect", want: []string{"GET /redirect: identity", "GET /pkg/exclaim.jar: identity"}},
		{name: "user URL, REST download", path: srv.URL + "/pkg/exclaim.jar", open: true, want: []string{"GET /pkg/exclaim.jar: identity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(g.seen())
			s := newStore(t, o, b)
			var got []byte
			if tt.open {
				rc, err := s.Open(ctx, &pb.PackageLocationMetaData{PackagePath: tt.path})
				if err != nil {
					t.Fatal(err)
				}
				got, err = io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
			} else {
				p, err := s.Fetch(ctx, instance(javaFunction(), tt.path, "exclaim.jar", 0))
				if err != nil {
					t.Fatal(err)
				}
				if got, err = os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, g.payload) {
				t.Errorf("got %d bytes, want the %d sent", len(got), len(g.payload))
			}
			if seen := g.seen()[before:]; strings.Join(seen, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestIntegrationDownloadEncoding measures a 16 MiB package download from
// the standalone's packages service as Go's client asks by default (gzip,
// compressed by the broker on the fly) and as the Store asks (identity).
func TestIntegrationDownloadEncoding(t *testing.T) {
	b := pulsarBroker(t)
	web := os.Getenv("PULSAR_WEB_SERVICE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := Options{PackageManagement: true, WebServiceURL: web}
	s := newStore(t, opts, b)
	fd := javaFunction()
	fd.Name = fmt.Sprintf("encoding-%d", time.Now().UnixNano())
	payload := randomPayload(t, 16<<20)
	loc, err := s.Upload(ctx, &pb.FunctionMetaData{FunctionDetails: fd, Version: 1}, bytes.NewReader(payload), "big.jar")
	if err != nil {
		if strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "not enabled") {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the broker's packages service is off (make test starts the standalone with it on): %v", err)
			}
			t.Skipf("the broker's packages service is off: %v", err)
		}
		t.Fatal(err)
	}
	defer s.Delete(context.WithoutCancel(ctx), loc)
	p, _ := ParsePath(loc.PackagePath)
	endpoint, _ := s.packageEndpoint(p)
	get := func(acceptEncoding string) time.Duration {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		start := time.Now()
		resp, err := b.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if want := sha256.Sum256(payload); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("Accept-Encoding %q: wrong bytes", acceptEncoding)
		}
		return took
	}
	median := func(acceptEncoding string) time.Duration {
		var d []time.Duration
		for range 3 {
			d = append(d, get(acceptEncoding))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[1]
	}
	gz, id := median(""), median("identity")
	t.Logf("16 MiB from the packages service, median of 3: default (gzip) %v (%.1f MiB/s), identity %v (%.1f MiB/s): %.1fx",
		gz.Round(time.Millisecond), 16/gz.Seconds(), id.Round(time.Millisecond), 16/id.Seconds(), gz.Seconds()/id.Seconds())
	start := time.Now()
	if _, err := newStore(t, opts, b).Fetch(ctx, instance(fd, loc.PackagePath, "big.jar", 0)); err != nil {
		t.Fatal(err)
	}
	t.Logf("Store.Fetch of the same package: %v", time.Since(start).Round(time.Millisecond))
}
