package packages

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Kind is the storage a packagePath points at.
type Kind int

// The packagePath forms of cluster.md §9.1, plus our topic form.
const (
	KindInvalid        Kind = iota
	KindBuiltin             // builtin://<archive name>
	KindHTTP                // http:// or https://
	KindFile                // file:<absolute path>
	KindPackage             // function://, sink://, source:// (broker packages management)
	KindTopic               // persistent://tenant/namespace/topic (stored by this worker)
	KindDistributedLog      // anything else: a Java worker's DistributedLog log name
)

var kindNames = [...]string{"invalid", "builtin", "http", "file", "package-management", "topic", "distributedlog"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Path is a parsed packagePath.
type Path struct {
	Raw  string
	Kind Kind
	// Name is the archive name of builtin://, the package name of a package
	// URL, or the topic's local name.
	Name string
	// Type is function, sink or source for a package URL.
	Type string
	// Tenant and Namespace of a package URL or topic.
	Tenant, Namespace string
	// Version of a package URL ("latest" when the URL has none, as the broker reads it).
	Version string
	// File is the local absolute path of a file: URL.
	File string
	// URL is the parsed http(s) or file URL.
	URL *url.URL
}

// ErrInvalidPath reports a packagePath that no form accepts.
var ErrInvalidPath = errors.New("invalid package path")

// packageTypes are the broker's package types, in the URL's scheme spelling.
var packageTypes = []string{"function", "sink", "source"}

// topicScheme marks packages stored by this worker: a topic name is never a
// DistributedLog log name (Java escapes ':' in those) nor any other form.
const topicScheme = "persistent://"

// ParsePath classifies a packagePath. Java decides by prefix
// (Utils.isFunctionPackageUrlSupported and FunctionActioner); so do we, and we
// also check each form's shape so a bad path fails here rather than halfway
// through a download.
func ParsePath(s string) (Path, error) {
	p := Path{Raw: s}
	if strings.TrimSpace(s) == "" {
		return p, fmt.Errorf("%w: empty", ErrInvalidPath)
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return p, fmt.Errorf("%w %q: control characters", ErrInvalidPath, s)
	}
	switch {
	case strings.HasPrefix(s, "builtin://"):
		p.Kind = KindBuiltin
		p.Name = strings.TrimPrefix(s, "builtin://")
		if p.Name == "" || strings.ContainsAny(p.Name, "/\\") || p.Name == "." || p.Name == ".." {
			return p, fmt.Errorf("%w %q: want builtin://<name>", ErrInvalidPath, s)
		}
		return p, nil
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		p.Kind = KindHTTP
		u, err := url.Parse(s)
		if err != nil {
			return p, fmt.Errorf("%w %q: %v", ErrInvalidPath, s, err)
		}
		if u.Host == "" {
			return p, fmt.Errorf("%w %q: no host", ErrInvalidPath, s)
		}
		p.URL = u
		return p, nil
	case strings.HasPrefix(s, "file:"):
		p.Kind = KindFile
		u, err := url.Parse(s)
		if err != nil {
			return p, fmt.Errorf("%w %q: %v", ErrInvalidPath, s, err)
		}
		// Java turns the URL into a File, which refuses an authority, a query
		// or a fragment, and needs an absolute path.
		if u.Host != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
			!strings.HasPrefix(u.Path, "/") {
			return p, fmt.Errorf("%w %q: want file:///absolute/path", ErrInvalidPath, s)
		}
		p.URL = u
		p.File = path.Clean(u.Path)
		return p, nil
	case strings.HasPrefix(s, topicScheme):
		p.Kind = KindTopic
		parts := strings.Split(strings.TrimPrefix(s, topicScheme), "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return p, fmt.Errorf("%w %q: want persistent://tenant/namespace/topic", ErrInvalidPath, s)
		}
		p.Tenant, p.Namespace, p.Name = parts[0], parts[1], parts[2]
		return p, nil
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		for _, t := range packageTypes {
			if scheme == t {
				return parsePackageURL(p, t, rest)
			}
		}
		return p, fmt.Errorf("%w %q: unknown scheme %q", ErrInvalidPath, s, scheme)
	}
	// Java's DistributedLog log names are tenant/namespace/name/uuid-file with
	// the name and file URL-encoded; we cannot read them, but we recognise them.
	p.Kind = KindDistributedLog
	return p, nil
}

// parsePackageURL reads type://tenant/namespace/name[@version] as the broker's PackageName does.
func parsePackageURL(p Path, typ, rest string) (Path, error) {
	p.Kind = KindPackage
	p.Type = typ
	name, version, hasVersion := strings.Cut(rest, "@")
	if hasVersion && (version == "" || strings.ContainsAny(version, "@/")) {
		return p, fmt.Errorf("%w %q: bad version", ErrInvalidPath, p.Raw)
	}
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return p, fmt.Errorf("%w %q: want %s://tenant/namespace/name@version", ErrInvalidPath, p.Raw, typ)
	}
	for _, part := range append(parts, version) {
		if part == "." || part == ".." {
			return p, fmt.Errorf("%w %q: dot segment", ErrInvalidPath, p.Raw)
		}
	}
	p.Tenant, p.Namespace, p.Name = parts[0], parts[1], parts[2]
	p.Version = "latest"
	if hasVersion {
		p.Version = version
	}
	return p, nil
}

// packageURL formats a packages-management URL.
func packageURL(typ, tenant, namespace, name, version string) string {
	return fmt.Sprintf("%s://%s/%s/%s@%s", typ, tenant, namespace, name, version)
}
