package api

import (
	"net/http/httptest"
	"testing"
)

// The 401 of a failed authentication, as the Java worker's Jetty writes it:
// its JSON error page for clients that accept JSON (pulsar-admin), plain text
// otherwise.
func TestAuthRequiredPage(t *testing.T) {
	cases := []struct {
		accept, wantType, wantBody string
	}{
		{"application/json", "application/json",
			"{\n\"message\":\"Authentication required\",\n\"url\":\"/admin/v3/functions/public/default\",\n\"status\":\"401\"\n}"},
		{"*/*", "text/plain; charset=utf-8", "Authentication required\n"},
		{"", "text/plain; charset=utf-8", "Authentication required\n"},
	}
	for _, c := range cases {
		t.Run(c.accept, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/admin/v3/functions/public/default", nil)
			r.Header.Set("Accept", c.accept)
			w := httptest.NewRecorder()
			authRequired(w, r)
			if w.Code != 401 || w.Header().Get("Content-Type") != c.wantType || w.Body.String() != c.wantBody {
				t.Errorf("got %d %q %q, want 401 %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String(), c.wantType, c.wantBody)
			}
		})
	}
}
