// Package state is the worker's client of function state: BookKeeper stream
// storage's table service at the worker's stateStorageServiceUrl
// (bk://host:port), spoken over its gRPC API (internal/state/bkpb).
//
// The layout is the Java worker's and instances' (Apache Pulsar 4.0.8
// BKStateStoreProviderImpl): a function's state is the table (stream) named
// after the function in the state namespace <tenant>_<namespace> with every
// "-" replaced by "_". A key is both the routing key and the key of its record,
// as the Java Table API sends it. A missing table is created (with its
// namespace) on first use, with the stream configuration the Java instances
// use, so a table our worker creates is the one a Java or Python instance
// opens, and the other way round.
//
// Requests use server-side routing, as Pulsar's clients do: root range calls
// carry the storage container id 0 in the call metadata; table calls carry the
// stream id and the routing key, and the server finds the range and the
// container (forwarding to another storage server when needed). The first
// call on a stream the server has not routed yet fails with NOT_FOUND while
// it fetches the ranges; calls are retried with backoff, as the Java client
// does, until the caller's context ends.
package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/state/bkpb"
)

// Call metadata keys of BookKeeper's server-side routing (ProtocolConstants);
// values are 8-byte big-endian longs, the routing key raw bytes.
const (
	mdStorageContainer = "bk-rt-sc-id-bin"
	mdStreamID         = "bk-rt-sid-bin"
	mdRoutingKey       = "bk-rt-key-bin"
	rootContainer      = 0
)

// Errors the client returns (wrapped).
var (
	// ErrKeyNotFound: the table has no record for the key.
	ErrKeyNotFound = errors.New("key not found")
	// ErrTableNotFound: the table (or its namespace) does not exist.
	ErrTableNotFound = errors.New("table not found")
)

// StatusError is a stream storage response whose status code is not
// SUCCESS.
type StatusError struct {
	Op   string
	Code bkpb.StatusCode
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: stream storage answered %s", e.Op, e.Code)
}

// Value is one stored record.
type Value struct {
	// Bytes is the stored value; for a counter its 8-byte big-endian form.
	Bytes []byte
	// Version counts the record's modifications.
	Version int64
	// IsNumber marks a counter (written by incrCounter).
	IsNumber bool
	// Number is a counter's value.
	Number int64
}

// StateNamespace is the stream storage namespace holding the state of
// tenant/namespace's functions (Java's FunctionCommon.getStateNamespace).
func StateNamespace(tenant, namespace string) string {
	return strings.ReplaceAll(tenant+"_"+namespace, "-", "_")
}

// TableConfig is the configuration of a function's state table, as the Java
// instances create it: BookKeeper's default stream configuration with 4
// initial and minimum ranges and the TABLE storage type.
func TableConfig() *bkpb.StreamConfiguration {
	return &bkpb.StreamConfiguration{
		KeyType:          bkpb.RangeKeyType_HASH,
		MinNumRanges:     4,
		InitialNumRanges: 4,
		SplitPolicy: &bkpb.SplitPolicy{
			Type:   bkpb.SplitPolicyType_FIXED,
			Policy: &bkpb.SplitPolicy_FixedRangePolicy{FixedRangePolicy: &bkpb.FixedRangeSplitPolicy{NumRanges: 2}},
		},
		RollingPolicy: &bkpb.SegmentRollingPolicy{
			SizePolicy: &bkpb.SizeBasedSegmentRollingPolicy{MaxSegmentSize: 128 << 20},
		},
		RetentionPolicy: &bkpb.RetentionPolicy{
			TimePolicy: &bkpb.TimeBasedRetentionPolicy{RetentionMinutes: -1},
		},
		StorageType: bkpb.StorageType_TABLE,
	}
}

// ParseServiceURL turns a stateStorageServiceUrl (bk://host:port) into the
// gRPC target host:port.
func ParseServiceURL(serviceURL string) (string, error) {
	u, err := url.Parse(serviceURL)
	if err != nil {
		return "", fmt.Errorf("parse state storage URL %q: %w", serviceURL, err)
	}
	if u.Scheme != "bk" || u.Host == "" || u.Port() == "" {
		return "", fmt.Errorf("state storage URL %q: want bk://host:port", serviceURL)
	}
	return u.Host, nil
}

// Client is a connection to stream storage. It is safe for concurrent use.
type Client struct {
	conn  *grpc.ClientConn
	root  bkpb.RootRangeServiceClient
	table bkpb.TableServiceClient
	log   *slog.Logger
}

// Dial prepares a client of the stream storage at serviceURL (bk://host:port).
// It does not connect until the first call.
func Dial(serviceURL string, log *slog.Logger) (*Client, error) {
	target, err := ParseServiceURL(serviceURL)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("state storage client for %s: %w", serviceURL, err)
	}
	return &Client{
		conn:  conn,
		root:  bkpb.NewRootRangeServiceClient(conn),
		table: bkpb.NewTableServiceClient(conn),
		log:   log,
	}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Get reads key from the state of tenant/namespace/function, creating the
// table if it does not exist (as Java does). ErrKeyNotFound when absent.
func (c *Client) Get(ctx context.Context, tenant, namespace, function, key string) (Value, error) {
	sid, err := c.stream(ctx, tenant, namespace, function)
	if err != nil {
		return Value{}, err
	}
	req := &bkpb.RangeRequest{Key: []byte(key), Header: routing(sid, key)}
	var resp *bkpb.RangeResponse
	err = c.retry(ctx, "get "+key, func(ctx context.Context) (err error) {
		resp, err = c.table.Range(tableCall(ctx, sid, key), req)
		return err
	})
	if err != nil {
		return Value{}, err
	}
	if code := resp.GetHeader().GetCode(); code != bkpb.StatusCode_SUCCESS {
		return Value{}, codeError("get "+key, code)
	}
	for _, kv := range resp.GetKvs() {
		if string(kv.GetKey()) == key {
			return Value{Bytes: kv.GetValue(), Version: kv.GetVersion(), IsNumber: kv.GetIsNumber(), Number: kv.GetNumberValue()}, nil
		}
	}
	return Value{}, fmt.Errorf("get %s: %w", key, ErrKeyNotFound)
}

// Put writes value under key in the state of tenant/namespace/function,
// creating the table if it does not exist.
func (c *Client) Put(ctx context.Context, tenant, namespace, function, key string, value []byte) error {
	sid, err := c.stream(ctx, tenant, namespace, function)
	if err != nil {
		return err
	}
	req := &bkpb.PutRequest{Key: []byte(key), Value: value, Header: routing(sid, key)}
	var resp *bkpb.PutResponse
	err = c.retry(ctx, "put "+key, func(ctx context.Context) (err error) {
		resp, err = c.table.Put(tableCall(ctx, sid, key), req)
		return err
	})
	if err != nil {
		return err
	}
	if code := resp.GetHeader().GetCode(); code != bkpb.StatusCode_SUCCESS {
		return codeError("put "+key, code)
	}
	return nil
}

// Increment adds amount to the counter key (incrCounter) and returns its new
// value.
func (c *Client) Increment(ctx context.Context, tenant, namespace, function, key string, amount int64) (int64, error) {
	sid, err := c.stream(ctx, tenant, namespace, function)
	if err != nil {
		return 0, err
	}
	req := &bkpb.IncrementRequest{Key: []byte(key), Amount: amount, GetTotal: true, Header: routing(sid, key)}
	var resp *bkpb.IncrementResponse
	err = c.retry(ctx, "increment "+key, func(ctx context.Context) (err error) {
		resp, err = c.table.Increment(tableCall(ctx, sid, key), req)
		return err
	})
	if err != nil {
		return 0, err
	}
	if code := resp.GetHeader().GetCode(); code != bkpb.StatusCode_SUCCESS {
		return 0, codeError("increment "+key, code)
	}
	return resp.GetTotalAmount(), nil
}

// Delete removes key from the state of tenant/namespace/function.
func (c *Client) Delete(ctx context.Context, tenant, namespace, function, key string) error {
	sid, err := c.stream(ctx, tenant, namespace, function)
	if err != nil {
		return err
	}
	req := &bkpb.DeleteRangeRequest{Key: []byte(key), Header: routing(sid, key)}
	var resp *bkpb.DeleteRangeResponse
	err = c.retry(ctx, "delete "+key, func(ctx context.Context) (err error) {
		resp, err = c.table.Delete(tableCall(ctx, sid, key), req)
		return err
	})
	if err != nil {
		return err
	}
	if code := resp.GetHeader().GetCode(); code != bkpb.StatusCode_SUCCESS {
		return codeError("delete "+key, code)
	}
	return nil
}

// DeleteTable drops the state table of tenant/namespace/function (Java's
// cleanUp on function delete). ErrTableNotFound when there is none.
func (c *Client) DeleteTable(ctx context.Context, tenant, namespace, function string) error {
	ns := StateNamespace(tenant, namespace)
	op := "delete table " + ns + "/" + function
	var resp *bkpb.DeleteStreamResponse
	err := c.retry(ctx, op, func(ctx context.Context) (err error) {
		resp, err = c.root.DeleteStream(rootCall(ctx), &bkpb.DeleteStreamRequest{NsName: ns, Name: function})
		return err
	})
	if err != nil {
		return err
	}
	if code := resp.GetCode(); code != bkpb.StatusCode_SUCCESS {
		return codeError(op, code)
	}
	return nil
}

// TableExists tells whether the state table of tenant/namespace/function
// exists, without creating it.
func (c *Client) TableExists(ctx context.Context, tenant, namespace, function string) (bool, error) {
	_, err := c.getStream(ctx, StateNamespace(tenant, namespace), function)
	if errors.Is(err, ErrTableNotFound) {
		return false, nil
	}
	return err == nil, err
}

// stream returns the id of the state table of tenant/namespace/function,
// creating its namespace and the table when they do not exist (Java's
// BKStateStoreProviderImpl.createStateTable). Like Java's worker it looks
// the table up on every request rather than caching the id, so a table
// deleted and created again (function deleted and created again, maybe
// through another worker) is found.
func (c *Client) stream(ctx context.Context, tenant, namespace, function string) (int64, error) {
	ns := StateNamespace(tenant, namespace)
	props, err := c.getStream(ctx, ns, function)
	if errors.Is(err, ErrTableNotFound) {
		props, err = c.createTable(ctx, ns, function)
	}
	if err != nil {
		return 0, err
	}
	return props.GetStreamId(), nil
}

func (c *Client) getStream(ctx context.Context, ns, table string) (*bkpb.StreamProperties, error) {
	op := "get table " + ns + "/" + table
	req := &bkpb.GetStreamRequest{Id: &bkpb.GetStreamRequest_StreamName{StreamName: &bkpb.StreamName{NamespaceName: ns, StreamName: table}}}
	var resp *bkpb.GetStreamResponse
	err := c.retry(ctx, op, func(ctx context.Context) (err error) {
		resp, err = c.root.GetStream(rootCall(ctx), req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if code := resp.GetCode(); code != bkpb.StatusCode_SUCCESS {
		return nil, codeError(op, code)
	}
	return resp.GetStreamProps(), nil
}

func (c *Client) createTable(ctx context.Context, ns, table string) (*bkpb.StreamProperties, error) {
	conf := TableConfig()
	nsOp := "create namespace " + ns
	var nsResp *bkpb.CreateNamespaceResponse
	err := c.retry(ctx, nsOp, func(ctx context.Context) (err error) {
		nsResp, err = c.root.CreateNamespace(rootCall(ctx), &bkpb.CreateNamespaceRequest{
			Name: ns, NsConf: &bkpb.NamespaceConfiguration{DefaultStreamConf: conf},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	// Like Java, go on to create the table whatever the answer: stream
	// storage 4.17 answers INTERNAL_SERVER_ERROR, not NAMESPACE_EXISTS, for a
	// namespace that exists.
	var nsErr error
	if code := nsResp.GetCode(); code != bkpb.StatusCode_SUCCESS && code != bkpb.StatusCode_NAMESPACE_EXISTS {
		nsErr = codeError(nsOp, code)
		c.log.Debug("creating the state namespace failed; creating the table anyway", "namespace", ns, "err", nsErr)
	}
	op := "create table " + ns + "/" + table
	var resp *bkpb.CreateStreamResponse
	err = c.retry(ctx, op, func(ctx context.Context) (err error) {
		resp, err = c.root.CreateStream(rootCall(ctx), &bkpb.CreateStreamRequest{NsName: ns, Name: table, StreamConf: conf})
		return err
	})
	if err != nil {
		return nil, err
	}
	switch code := resp.GetCode(); code {
	case bkpb.StatusCode_SUCCESS:
		c.log.Info("created state table", "namespace", ns, "table", table, "streamId", resp.GetStreamProps().GetStreamId())
		return resp.GetStreamProps(), nil
	case bkpb.StatusCode_STREAM_EXISTS: // an instance created it meanwhile
		return c.getStream(ctx, ns, table)
	default:
		return nil, errors.Join(codeError(op, code), nsErr)
	}
}

func codeError(op string, code bkpb.StatusCode) error {
	switch code {
	case bkpb.StatusCode_KEY_NOT_FOUND:
		return fmt.Errorf("%s: %w", op, ErrKeyNotFound)
	case bkpb.StatusCode_STREAM_NOT_FOUND, bkpb.StatusCode_NAMESPACE_NOT_FOUND:
		return fmt.Errorf("%s: %w (%s)", op, ErrTableNotFound, code)
	}
	return &StatusError{Op: op, Code: code}
}

func routing(streamID int64, key string) *bkpb.RoutingHeader {
	return &bkpb.RoutingHeader{StreamId: streamID, RKey: []byte(key)}
}

func long(v int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return string(b[:])
}

func rootCall(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, mdStorageContainer, long(rootContainer))
}

func tableCall(ctx context.Context, streamID int64, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, mdStreamID, long(streamID), mdRoutingKey, key)
}

// Backoff between attempts, as the Java client's (100 ms growing to 2 s).
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 2 * time.Second
)

// retry runs call until it succeeds, fails with a gRPC status the Java client
// does not retry (INVALID_ARGUMENT, ALREADY_EXISTS, PERMISSION_DENIED,
// UNAUTHENTICATED), or ctx ends. The error names op and the last failure.
func (c *Client) retry(ctx context.Context, op string, call func(context.Context) error) error {
	wait := firstBackoff
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		switch status.Code(err) {
		case codes.InvalidArgument, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated, codes.Canceled:
			return fmt.Errorf("%s: %w", op, err)
		}
		c.log.Debug("state storage call failed, retrying", "op", op, "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (after %d attempts, last: %v)", op, ctx.Err(), attempt, err)
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}
