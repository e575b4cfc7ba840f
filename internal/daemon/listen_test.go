package daemon

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRequestHeaderLimit: like Jetty in the Java worker, the request line
// plus headers may be 8 KiB; a larger block is refused with 431 before the
// handler (and so authentication) sees it.
func TestRequestHeaderLimit(t *testing.T) {
	var reached atomic.Int32
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.Copy(io.Discard, r.Body)
	}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if srv.TLSNextProto == nil || len(srv.TLSNextProto) != 0 {
		t.Error("the server offers HTTP/2 over TLS, whose header limit net/http derives differently; Jetty serves HTTP/1.1 only")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	// request sends a request whose line and headers take exactly size bytes.
	request := func(t *testing.T, size int, body string) int {
		t.Helper()
		head := fmt.Sprintf("POST /admin/v3/functions/public/default/f HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Pad: ", len(body))
		pad := size - len(head) - len("\r\n\r\n")
		req := head + strings.Repeat("a", pad) + "\r\n\r\n" + body
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The server may close before it read everything: its answer counts.
		go io.WriteString(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%d header bytes: %v", size, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := strings.Repeat("b", 20000)
	for _, tc := range []struct {
		size int
		body string
		want int
	}{
		{1000, "", 200},
		{maxRequestHeaderBytes, "", 200},
		{maxRequestHeaderBytes, body, 200}, // a body read along with the headers does not count
		{maxRequestHeaderBytes + 1, "", 431},
		{64 << 10, "", 431},
		{1 << 20, "", 431}, // accepted before: net/http's default is 1 MiB
	} {
		t.Run(fmt.Sprintf("%d bytes, body %d", tc.size, len(tc.body)), func(t *testing.T) {
			before := reached.Load()
			if got := request(t, tc.size, tc.body); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if tc.want == 431 && reached.Load() != before {
				t.Error("the handler saw a request with oversized headers")
			}
		})
	}
}
