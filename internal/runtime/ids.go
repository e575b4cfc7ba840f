package runtime

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

// fqfn is the fully qualified function name tenant/namespace/name.
func fqfn(d *pb.FunctionDetails) string {
	return d.GetTenant() + "/" + d.GetNamespace() + "/" + d.GetName()
}

// InstanceKey is the fully qualified instance id tenant/namespace/name:instanceId,
// the key of assignments and of the instances a Manager runs.
func InstanceKey(fqfn string, instanceID int) string {
	return fqfn + ":" + strconv.Itoa(instanceID)
}

// instanceKey is InstanceKey of an assigned instance.
func instanceKey(inst *pb.Instance) string {
	return InstanceKey(fqfn(inst.GetFunctionMetaData().GetFunctionDetails()), int(inst.GetInstanceId()))
}

// unitName is a systemd-unit-like name for an instance: pulsar-fn-, then
// tenant/namespace/name escaped as systemd-escape --path does, then -<id>.
func unitName(d *pb.FunctionDetails, instanceID int32) string {
	return "pulsar-fn-" + systemdEscape(fqfn(d)) + "-" + strconv.Itoa(int(instanceID))
}

// systemdEscape escapes s like systemd-escape: "/" becomes "-", and bytes other
// than ASCII letters, digits, ":", "_" and "." (and a leading ".") become \xNN.
func systemdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0, !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '.'):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// newUUID returns a random (version 4) UUID, as Java's UUID.randomUUID.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails on Linux
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// freePort asks the kernel for a free TCP port by binding port 0 and closing
// the socket, as Java's FunctionCommon.findAvailablePort; the port may be taken
// by someone else before the instance binds it (portFree checks before restarts).
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether port can be bound on all interfaces right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
