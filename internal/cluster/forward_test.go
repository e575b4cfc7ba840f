package cluster

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// TestForwardToLeader: the write reaches the leader's internal endpoint as
// Java sends it, and the leader's refusals come back with its status and
// reason.
func TestForwardToLeader(t *testing.T) {
	md := &pb.FunctionMetaData{FunctionDetails: &pb.FunctionDetails{Tenant: "t", Namespace: "n", Name: "f"}, Version: 3}
	tests := []struct {
		name     string
		del      bool
		status   int
		body     string
		wantCode int
		wantText string
	}{
		{"accepted", false, 200, "", 0, ""},
		{"delete accepted", true, 204, "", 0, ""},
		{"refused with a reason", false, 400, `{"reason":"Function f already exists"}`, 400, "Function f already exists"},
		{"refused with text", false, 503, "busy\n", 503, "busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPut || r.URL.Path != "/admin/v3/functions/leader/t/n/f" {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				f, _, err := r.FormFile("functionMetaData")
				if err != nil {
					t.Fatalf("functionMetaData part: %v", err)
				}
				raw, _ := io.ReadAll(f)
				var got pb.FunctionMetaData
				if err := proto.Unmarshal(raw, &got); err != nil || !proto.Equal(&got, md) {
					t.Errorf("metadata %v (%v), want %v", &got, err, md)
				}
				if del, _ := strconv.ParseBool(r.FormValue("delete")); del != tt.del {
					t.Errorf("delete = %v, want %v", del, tt.del)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := ForwardToLeader(context.Background(), srv.Client(), srv.URL, "leader-1", md, tt.del)
			var la *LeaderAnswer
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("ForwardToLeader = %v, want nil", err)
			case tt.wantCode != 0 && (!errors.As(err, &la) || la.Code != tt.wantCode || la.Reason != tt.wantText):
				t.Fatalf("ForwardToLeader = %v, want a LeaderAnswer %d %q", err, tt.wantCode, tt.wantText)
			}
		})
	}
	t.Run("no answer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		err := ForwardToLeader(context.Background(), http.DefaultClient, url, "leader-1", md, false)
		var la *LeaderAnswer
		if err == nil || errors.As(err, &la) {
			t.Fatalf("ForwardToLeader to a closed port = %v, want a transport error", err)
		}
	})
}
