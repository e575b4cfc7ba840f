package service

import (
	"encoding/base64"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
)

// TestSameMessage: the trigger recognises its message in the
// __pfn_input_msg_id__ property an instance writes (base64 of the
// serialized id), whatever the batch index convention of either side.
func TestSameMessage(t *testing.T) {
	enc := func(id pulsar.MessageID) string { return base64.StdEncoding.EncodeToString(id.Serialize()) }
	sent := pulsar.NewMessageID(12, 34, -1, -1)
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"same id", enc(pulsar.NewMessageID(12, 34, -1, -1)), true},
		{"same id, batch index 0", enc(pulsar.NewMessageID(12, 34, 0, -1)), true},
		{"same id, other partition index", enc(pulsar.NewMessageID(12, 34, -1, 0)), true},
		{"other entry", enc(pulsar.NewMessageID(12, 35, -1, -1)), false},
		{"other ledger", enc(pulsar.NewMessageID(13, 34, -1, -1)), false},
		{"other message of the batch", enc(pulsar.NewMessageID(12, 34, 1, -1)), false},
		{"missing", "", false},
		{"not base64", "%%%", false},
		{"not an id", base64.StdEncoding.EncodeToString([]byte{0xff, 0xff}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameMessage(tt.encoded, sent); got != tt.want {
				t.Errorf("sameMessage = %v, want %v", got, tt.want)
			}
		})
	}
}
