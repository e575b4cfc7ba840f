package systemd

import (
	"fmt"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

// Names of the sockets the .socket unit passes (FileDescriptorName=).
const (
	SocketHTTP  = "http"
	SocketHTTPS = "https"
)

// PassedListeners returns the sockets systemd passed to this process, by
// FileDescriptorName, or an empty map when none were passed. The environment
// variables are removed so instances do not inherit them.
func PassedListeners() (map[string]net.Listener, error) {
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	out := map[string]net.Listener{}
	for name, ls := range named {
		for i, l := range ls {
			if l == nil {
				continue
			}
			if i > 0 || out[name] != nil {
				return nil, fmt.Errorf("socket activation: more than one socket named %q; give each ListenStream its own FileDescriptorName", name)
			}
			out[name] = l
		}
	}
	return out, nil
}

// ListenerPort is the TCP port a listener is bound to, or 0.
func ListenerPort(l net.Listener) int {
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}
