// Package broker connects the worker to its Pulsar cluster: the binary client
// and the admin client, built from functions_worker.yml the way operators
// already write it (Java plugin class names and parameter strings, TLS keys),
// and the functions namespace the cluster state lives in.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	adminconfig "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
)

// Options is everything needed to reach the brokers.
type Options struct {
	ServiceURL    string // pulsarServiceUrl
	WebServiceURL string // pulsarWebServiceUrl
	Auth          ClientAuth
	TLS           TLSOptions
	// MaxAttempts bounds the wait for the broker at start; 0 waits forever.
	MaxAttempts int
	// RetryMin and RetryMax bound the backoff between attempts.
	RetryMin, RetryMax time.Duration
	// Logger is the worker's logger: the broker adds component=broker to its
	// own lines and component=pulsar-client to the client library's.
	Logger *slog.Logger
	// OnWaiting, when set, is told about every failed attempt (for STATUS=).
	OnWaiting func(attempt int, err error)
}

// Broker holds the clients the worker uses to talk to Pulsar.
type Broker struct {
	Client pulsar.Client
	Admin  admin.Client
	// HTTP is authenticated like Admin, for worker-to-worker calls and the few
	// broker endpoints pulsaradmin does not model.
	HTTP *http.Client
	rest *rest.Client
	log  *slog.Logger
}

// Connect builds the clients and waits until the broker's admin API answers,
// retrying with exponential backoff, as the Java worker polls GET clusters
// before it starts.
func Connect(ctx context.Context, o Options) (*Broker, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	if _, err := url.Parse(o.WebServiceURL); err != nil || !strings.HasPrefix(o.WebServiceURL, "http") {
		return nil, fmt.Errorf("pulsarWebServiceUrl %q: want http:// or https://", o.WebServiceURL)
	}
	if !strings.HasPrefix(o.ServiceURL, "pulsar://") && !strings.HasPrefix(o.ServiceURL, "pulsar+ssl://") {
		return nil, fmt.Errorf("pulsarServiceUrl %q: want pulsar:// or pulsar+ssl://", o.ServiceURL)
	}
	rt, err := NewHTTPTransport(o.Auth, o.TLS)
	if err != nil {
		return nil, fmt.Errorf("broker HTTP client: %w", err)
	}
	provider := rt.(*authTransport)
	adm, err := admin.NewPulsarClientWithAuthProvider(&adminconfig.Config{
		WebServiceURL:    o.WebServiceURL,
		PulsarAPIVersion: adminconfig.V2,
	}, provider)
	if err != nil {
		return nil, fmt.Errorf("admin client for %s: %w", o.WebServiceURL, err)
	}
	hc := &http.Client{Transport: rt, Timeout: time.Minute}
	b := &Broker{
		Admin: adm,
		HTTP:  hc,
		rest:  &rest.Client{ServiceURL: o.WebServiceURL, VersionInfo: "pulsar-functions-worker", HTTPClient: hc},
		log:   o.Logger.With("component", "broker"),
	}
	if err := b.waitForBroker(ctx, o); err != nil {
		return nil, err
	}
	copts := pulsar.ClientOptions{
		URL:                        o.ServiceURL,
		TLSTrustCertsFilePath:      o.TLS.TrustCertsFile,
		TLSAllowInsecureConnection: o.TLS.AllowInsecure,
		TLSValidateHostname:        o.TLS.VerifyHostname,
		OperationTimeout:           30 * time.Second,
		ConnectionTimeout:          10 * time.Second,
		Logger:                     clientLogger(o.Logger),
	}
	if o.Auth.Kind != AuthNone {
		name, params := o.Auth.pulsarParams()
		a, err := pulsar.NewAuthentication(name, params)
		if err != nil {
			return nil, fmt.Errorf("pulsar client authentication %s: %w", name, err)
		}
		copts.Authentication = a
	}
	cl, err := pulsar.NewClient(copts)
	if err != nil {
		return nil, fmt.Errorf("pulsar client for %s: %w", o.ServiceURL, err)
	}
	b.Client = cl
	return b, nil
}

func (b *Broker) waitForBroker(ctx context.Context, o Options) error {
	delay := o.RetryMin
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := b.Admin.Clusters().ListWithContext(actx)
		cancel()
		if err == nil {
			if attempt > 1 {
				b.log.Info("broker is reachable", "url", o.WebServiceURL, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if code := StatusCode(err); code == http.StatusUnauthorized || code == http.StatusForbidden {
			// Retrying will not help: the credentials are wrong.
			return fmt.Errorf("broker %s refused the worker's credentials: %w", o.WebServiceURL, err)
		}
		if untrustedCertificate(err) {
			// Nor here: the trust settings are read once, at start.
			return fmt.Errorf("broker %s: its TLS certificate is not trusted by %s: %w", o.WebServiceURL, o.TLS.trustDescription(), err)
		}
		if o.OnWaiting != nil {
			o.OnWaiting(attempt, err)
		}
		if o.MaxAttempts > 0 && attempt >= o.MaxAttempts {
			return fmt.Errorf("broker %s not reachable after %d attempts: %w", o.WebServiceURL, attempt, err)
		}
		b.log.Warn("waiting for broker", "url", o.WebServiceURL, "attempt", attempt, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, o.RetryMax)
	}
}

// Close releases the clients.
func (b *Broker) Close() {
	if b.Client != nil {
		b.Client.Close()
	}
}

// StatusCode returns the HTTP status of an admin API error, or 0.
func StatusCode(err error) int {
	var e rest.Error
	if errors.As(err, &e) {
		return e.Code
	}
	var pe *rest.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}
