package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// denyAllGuard authenticates everyone and authorizes no one.
type denyAllGuard struct{ OpenGuard }

func (denyAllGuard) IsSuperUser(context.Context, string, *http.Request) (bool, error) {
	return false, nil
}
func (denyAllGuard) AllowFunctionOps(context.Context, string, string, string, *http.Request) (bool, error) {
	return false, nil
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// countingReader counts the bytes the handler took from the body.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// bigUpload is a multipart request whose data part has size bytes, generated
// as it is read; read counts what the server consumed. extra parts go first.
func bigUpload(method, target string, size int64, read *atomic.Int64, extra ...[2]string) *http.Request {
	const boundary = "b0undary"
	var head strings.Builder
	for _, p := range extra {
		fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, p[0], p[1])
	}
	fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"data\"; filename=\"f.py\"\r\n\r\n", boundary)
	tail := fmt.Sprintf("\r\n--%s--\r\n", boundary)
	body := io.MultiReader(strings.NewReader(head.String()), io.LimitReader(zeros{}, size), strings.NewReader(tail))
	r := httptest.NewRequest(method, target, countingReader{body, read})
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	return r
}

// TestUploadsAreAuthorizedBeforeTheBodyIsRead: a caller without the right to
// the namespace (or without super-user for the by-path upload and the leader
// endpoint) is refused before a byte of its upload is read or spooled, and an
// authorized upload is cut at maxPackageSizeBytes while it streams in.
func TestUploadsAreAuthorizedBeforeTheBodyIsRead(t *testing.T) {
	const size = 32 << 20
	cfg := [2]string{"functionConfig", pyConfig0}
	tests := []struct {
		name       string
		guard      Guard
		req        func(read *atomic.Int64) *http.Request
		wantCode   int
		wantReason string
		maxRead    int64
	}{
		{"v3 function register, unauthorized", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", fnBase+"ex", size, n, cfg)
		}, 401, msgNotAuthorized, 0},
		{"v3 function update, unauthorized", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("PUT", fnBase+"ex", size, n, cfg)
		}, 401, msgNotAuthorized, 0},
		{"source register, unauthorized", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v3/sources/public/default/src", size, n, [2]string{"sourceConfig", `{"topicName":"out"}`})
		}, 401, msgNotAuthorized, 0},
		{"sink update, unauthorized", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("PUT", "/admin/v3/sinks/public/default/snk", size, n, [2]string{"sinkConfig", `{"inputs":["in"]}`})
		}, 401, msgNotAuthorized, 0},
		{"upload by path, not a super-user", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v3/functions/upload", size, n, [2]string{"path", "p/x"})
		}, 401, msgNotAuthorized, 0},
		{"leader update, not a super-user", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("PUT", "/admin/v3/functions/leader/public/default/ex", size, n)
		}, 401, msgNotAuthorized, 0},
		{"v2 register, unauthorized", denyAllGuard{}, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v2/functions/public/default/ex", size, n, [2]string{"functionDetails", "{}"})
		}, 401, msgNotAuthorized, 0},
		{"v3 function register over maxPackageSizeBytes", nil, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", fnBase+"ex", size, n, cfg)
		}, 413, "package too large: more than 1048576 bytes (maxPackageSizeBytes)", 2 << 20},
		{"sink register over maxPackageSizeBytes", nil, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v3/sinks/public/default/snk", size, n, [2]string{"sinkConfig", `{"inputs":["in"]}`})
		}, 413, "package too large: more than 1048576 bytes (maxPackageSizeBytes)", 2 << 20},
		{"upload by path over maxPackageSizeBytes", nil, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v3/functions/upload", size, n, [2]string{"path", "p/x"})
		}, 413, "package too large: more than 1048576 bytes (maxPackageSizeBytes)", 2 << 20},
		{"v2 register over maxPackageSizeBytes", nil, func(n *atomic.Int64) *http.Request {
			return bigUpload("POST", "/admin/v2/functions/public/default/ex", size, n, [2]string{"functionDetails", "{}"})
		}, 413, "package too large: more than 1048576 bytes (maxPackageSizeBytes)", 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			f := newFakeFunctions()
			s := New(leaderWorker, tt.guard, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
				WithFunctions(f), WithConnectors(&fakeConnectors{}), WithLifecycle(nil), WithMaxPackageBytes(1<<20))
			var read atomic.Int64
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, tt.req(&read))
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantReason) {
				t.Fatalf("status %d %s, want %d with %q", rec.Code, rec.Body, tt.wantCode, tt.wantReason)
			}
			if got := read.Load(); got > tt.maxRead {
				t.Errorf("the server read %d bytes of the body, want at most %d", got, tt.maxRead)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("%d files left in the temporary directory", len(left))
			}
		})
	}
}
