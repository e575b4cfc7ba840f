package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// LeaderAnswer is the leader's refusal of a forwarded write: its HTTP status
// and the reason it gave ({"reason": ...}, or the body's text).
type LeaderAnswer struct {
	Code   int
	Reason string
}

func (e *LeaderAnswer) Error() string {
	return fmt.Sprintf("the leader answered %d: %s", e.Code, e.Reason)
}

// ForwardToLeader sends a metadata write (or delete) to the leader's internal
// endpoint, PUT {leaderURL}/admin/v3/functions/leader/{tenant}/{namespace}/{name}
// with the serialized FunctionMetaData and the delete flag as multipart
// parts, as the Java worker does. A non-2xx answer is a *LeaderAnswer; any
// other error means the leader did not answer, and the write may have been
// applied all the same.
func ForwardToLeader(ctx context.Context, client *http.Client, leaderURL, leaderID string, md *pb.FunctionMetaData, del bool) error {
	d := md.GetFunctionDetails()
	fqfn := d.GetTenant() + "/" + d.GetNamespace() + "/" + d.GetName()
	raw, err := proto.Marshal(md)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", fqfn, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("functionMetaData", "functionMetaData")
	_, _ = part.Write(raw)
	_ = mw.WriteField("delete", strconv.FormatBool(del))
	_ = mw.Close()
	url := leaderURL + "/admin/v3/functions/leader/" + fqfn
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body.Bytes()))
	if err != nil {
		return fmt.Errorf("forward %s to the leader: %w", fqfn, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("forward %s to the leader %s: %w", fqfn, leaderID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(b, &e) != nil || e.Reason == "" {
		e.Reason = strings.TrimSpace(string(b))
	}
	return &LeaderAnswer{Code: resp.StatusCode, Reason: e.Reason}
}
