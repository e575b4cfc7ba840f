package daemon

import (
	"context"
	"net"
	"os"
	"strings"
	"time"
)

// canonicalHostname approximates Java's InetAddress.getLocalHost().getCanonicalHostName():
// the host name, resolved to an address and back (at most 5 s). Where Java
// would fall back to the IP address we keep the plain host name, as an IPv6
// literal breaks WorkerInfo. The worker resolves it once, at start, when
// workerHostname is blank, so its id cannot change when DNS does.
func canonicalHostname(ctx context.Context) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "localhost"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil || len(addrs) == 0 {
		return host
	}
	names, err := net.DefaultResolver.LookupAddr(ctx, addrs[0])
	if err != nil || len(names) == 0 {
		return host
	}
	if name := strings.TrimSuffix(names[0], "."); name != "" && !strings.Contains(name, ":") {
		return name
	}
	return host
}
