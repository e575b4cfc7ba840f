package cluster

import "errors"

// StatePayload returns a state topic message's payload as its writer meant
// it, reading the LZ4 (and Snappy) encoding of an empty payload as empty.
//
// The Java worker writes its tombstones (deleted assignments, and deleted
// functions in the compacted-metadata mode) as empty payloads compressed with
// LZ4: the message metadata says compression LZ4, uncompressed_size 0, and the
// payload on the wire is the LZ4 block of an empty input, a single 0x00 byte
// (Snappy encodes an empty input the same way: a zero length varint).
// pulsar-client-go only decompresses when the uncompressed size is above
// zero, so it hands that byte to the reader as the payload, and
// pulsar.Message does not expose the metadata that would tell us. A lone
// 0x00 can never be a valid protobuf message (its tag names field number 0,
// which is invalid), so reading it as empty is unambiguous for every state
// topic message type.
func StatePayload(p []byte) []byte {
	if len(p) == 1 && p[0] == 0x00 {
		return nil
	}
	return p
}

// UndecodableError marks a state topic message that cannot be decoded. The
// state topic reader logs, counts and skips such messages instead of stopping
// the worker: a stray or corrupt message on a shared topic must not take
// down every worker of the cluster (each would fail again on restart, reading
// the same message).
type UndecodableError struct{ Err error }

func (e *UndecodableError) Error() string { return "undecodable message: " + e.Err.Error() }

func (e *UndecodableError) Unwrap() error { return e.Err }

// Undecodable wraps err (a decoding error) as an UndecodableError.
func Undecodable(err error) error { return &UndecodableError{Err: err} }

// IsUndecodable reports whether err marks a message that cannot be decoded.
func IsUndecodable(err error) bool {
	var u *UndecodableError
	return errors.As(err, &u)
}
