package daemon

import (
	"log/slog"
	"testing"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/config"
)

// stateStorageServiceUrl decides whether the state endpoints have a store:
// none without it (Java's 503), none for a provider we cannot speak for,
// and a config error for a URL that is not bk://host:port.
func TestStateOptions(t *testing.T) {
	tests := []struct {
		name, url, provider string
		wantOpts            int
		wantErr             bool
	}{
		{name: "unset", wantOpts: 0},
		{name: "stream storage", url: "bk://127.0.0.1:4181", wantOpts: 1},
		{name: "stream storage, provider named", url: "bk://127.0.0.1:4181", provider: bkStateProvider, wantOpts: 1},
		{name: "other provider", url: "bk://127.0.0.1:4181", provider: "org.apache.pulsar.functions.instance.state.PulsarMetadataStateStoreProviderImpl", wantOpts: 0},
		{name: "not bk://", url: "http://127.0.0.1:4181", wantErr: true},
		{name: "no port", url: "bk://127.0.0.1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.StateStorageServiceUrl = tc.url
			cfg.StateStorageProviderImplementation = tc.provider
			d := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
			opts, closeState, err := d.stateOptions()
			if (err != nil) != tc.wantErr {
				t.Fatalf("stateOptions() error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer closeState()
			if len(opts) != tc.wantOpts {
				t.Errorf("stateOptions() = %d options, want %d", len(opts), tc.wantOpts)
			}
		})
	}
}
