package daemon

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/api"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/systemd"
)

// maxRequestHeaderBytes is Jetty's default requestHeaderSize, the Java
// worker's limit on the request line plus headers: above it both answer 431,
// before any authentication runs. net/http's default is 1 MiB.
const maxRequestHeaderBytes = 8 << 10

// headerSlop is what net/http reads beyond MaxHeaderBytes before it gives up
// (Server.initialReadLimitSize's "bufio slop"); MaxHeaderBytes is set this much
// lower so that the cut is at maxRequestHeaderBytes, as in Jetty.
const headerSlop = 4096

// newHTTPServer is the REST API's server on every listener. It speaks
// HTTP/1.1 only, as the Java worker's Jetty connectors do: over HTTP/2
// net/http would derive a header limit of about 4.3 KiB from MaxHeaderBytes,
// refusing headers (large OAuth tokens) that Java accepts.
func newHTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    maxRequestHeaderBytes - headerSlop,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Non-nil and empty: no "h2" in ALPN, so TLS clients use HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

type listener struct {
	net.Listener
	tls *tls.Config
}

// listen opens the REST listeners: the sockets a .socket unit passed (named
// "http" and "https"), else its own on workerPort / workerPortTls. When the
// socket unit and the config disagree, the passed socket wins (systemd owns
// it) and a warning says so, so the two can never silently differ.
func (d *Daemon) listen() ([]listener, error) {
	passed, err := systemd.PassedListeners()
	if err != nil {
		return nil, err
	}
	for name, l := range passed {
		if name != systemd.SocketHTTP && name != systemd.SocketHTTPS {
			d.log.Warn("ignoring a passed socket with an unknown name; name them with FileDescriptorName=http or https",
				"name", name, "addr", l.Addr().String())
			l.Close()
		}
	}
	var out []listener
	open := func(name, key string, port *int, tcfg *tls.Config) error {
		if l, ok := passed[name]; ok {
			got := systemd.ListenerPort(l)
			switch {
			case port == nil:
				d.log.Warn("the socket unit passes a socket the config does not enable; serving it anyway",
					"socket", name, "port", got, "key", key)
			case *port != got:
				d.log.Warn("the socket unit and the config disagree on the port; serving the socket unit's",
					"socket", name, "socket_port", got, "key", key, "config_port", *port)
			}
			out = append(out, listener{Listener: l, tls: tcfg})
			return nil
		}
		if port == nil {
			return nil
		}
		if len(passed) > 0 {
			d.log.Warn("the socket unit passes no socket for this port; binding it directly", "key", key, "port", *port)
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(*port))
		if err != nil {
			return fmt.Errorf("listen on %s %d: %w", key, *port, err)
		}
		out = append(out, listener{Listener: l, tls: tcfg})
		return nil
	}
	if err := open(systemd.SocketHTTP, "workerPort", d.cfg.WorkerPort, nil); err != nil {
		closeAll(out)
		return nil, err
	}
	if d.cfg.TLSEnabled() || passed[systemd.SocketHTTPS] != nil {
		if !d.cfg.TLSEnabled() {
			closeAll(out)
			return nil, fmt.Errorf("the socket unit passes an https socket but TLS is off (tlsEnabled, workerPortTls, tlsCertificateFilePath, tlsKeyFilePath)")
		}
		tcfg, err := api.ServerTLSConfig(api.TLSFiles{
			CertFile:          d.cfg.TlsCertificateFilePath,
			KeyFile:           d.cfg.TlsKeyFilePath,
			TrustCertsFile:    d.cfg.TlsTrustCertsFilePath,
			RequireClientCert: d.cfg.TlsRequireTrustedClientCertOnConnect,
			RefreshInterval:   time.Duration(d.cfg.TlsCertRefreshCheckDurationSec) * time.Second,
		})
		if err != nil {
			closeAll(out)
			return nil, err
		}
		if err := open(systemd.SocketHTTPS, "workerPortTls", d.cfg.WorkerPortTls, tcfg); err != nil {
			closeAll(out)
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no REST listener: workerPort is null and TLS is off (tlsEnabled with workerPortTls)")
	}
	return out, nil
}

func closeAll(ls []listener) {
	for _, l := range ls {
		l.Close()
	}
}
