package packages

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// ErrURLNotAllowed reports an http(s) or file package URL that the worker's
// URL policy refuses.
var ErrURLNotAllowed = errors.New("package URL is not allowed")

// urlPolicy is Java's PackageUrlValidator: a file: URL is allowed when it lies
// inside functionsDirectory (functions) or connectorsDirectory (sources and
// sinks) and referencing that directory is enabled; any URL is allowed when it
// fully matches one of the additional patterns of its component type.
type urlPolicy struct {
	functionsDir, connectorsDir string // absolute; "" when referencing is off
	functionPats, connectorPats []*regexp.Regexp
}

// newURLPolicy compiles the policy. Patterns are Go regular expressions (RE2),
// which accept the common subset of Java's syntax; one that does not compile
// is an error, as Pattern.compile fails Java's start-up.
func newURLPolicy(o Options) (*urlPolicy, error) {
	p := &urlPolicy{}
	var err error
	if o.EnableReferencingFunctionsDirectoryFiles {
		if p.functionsDir, err = absClean(o.FunctionsDirectory); err != nil {
			return nil, fmt.Errorf("functionsDirectory: %w", err)
		}
	}
	if o.EnableReferencingConnectorDirectoryFiles {
		if p.connectorsDir, err = absClean(o.ConnectorsDirectory); err != nil {
			return nil, fmt.Errorf("connectorsDirectory: %w", err)
		}
	}
	if p.functionPats, err = compileFull(o.AdditionalFunctionsURLPatterns); err != nil {
		return nil, fmt.Errorf("additionalEnabledFunctionsUrlPatterns: %w", err)
	}
	if p.connectorPats, err = compileFull(o.AdditionalConnectorURLPatterns); err != nil {
		return nil, fmt.Errorf("additionalEnabledConnectorUrlPatterns: %w", err)
	}
	return p, nil
}

func absClean(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	return filepath.Abs(dir)
}

// compileFull anchors each pattern, because Java uses Matcher.matches (whole string).
func compileFull(pats []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(pats))
	for _, s := range pats {
		re, err := regexp.Compile(`^(?:` + s + `)$`)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Check returns nil when the URL may be used for a component of type ct;
// UNKNOWN accepts what either functions or connectors accept, as Java does for
// a null type. Only http(s) and file URLs are subject to the policy.
func (p *urlPolicy) Check(ct pb.FunctionDetails_ComponentType, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrURLNotAllowed, raw, err)
	}
	ok := false
	switch ct {
	case pb.FunctionDetails_FUNCTION:
		ok = p.matches(u, p.functionsDir, p.functionPats)
	case pb.FunctionDetails_SOURCE, pb.FunctionDetails_SINK:
		ok = p.matches(u, p.connectorsDir, p.connectorPats)
	default:
		ok = p.matches(u, p.functionsDir, p.functionPats) || p.matches(u, p.connectorsDir, p.connectorPats)
	}
	if !ok {
		return fmt.Errorf("%w: %s (allowed: file: URLs inside the functions/connectors directory when "+
			"enableReferencing*DirectoryFiles is on, or URLs matching additionalEnabled*UrlPatterns)", ErrURLNotAllowed, raw)
	}
	return nil
}

func (p *urlPolicy) matches(u *url.URL, dir string, pats []*regexp.Regexp) bool {
	if dir != "" && u.Scheme == "file" && u.Path != "" {
		// Java: Path.of(uri.getPath()).normalize().toAbsolutePath().startsWith(dir),
		// a lexical comparison by path elements.
		f := filepath.Clean(u.Path)
		if !filepath.IsAbs(f) {
			if abs, err := filepath.Abs(f); err == nil {
				f = abs
			}
		}
		if within(dir, f) {
			return true
		}
	}
	s := normalizeURL(u)
	for _, re := range pats {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// within tells whether f is dir or lies below it, by path elements.
func within(dir, f string) bool {
	rel, err := filepath.Rel(dir, f)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, "../"))
}

// normalizeURL is java.net.URI.normalize().toString(): dot segments removed
// from the path, everything else as written.
func normalizeURL(u *url.URL) string {
	c := *u
	if c.Path != "" && c.Opaque == "" {
		cleaned := path.Clean(c.Path)
		if strings.HasSuffix(c.Path, "/") && cleaned != "/" {
			cleaned += "/"
		}
		if !strings.HasPrefix(c.Path, "/") {
			// Relative paths cannot climb above their start in URI.normalize either.
			cleaned = strings.TrimPrefix(cleaned, "./")
		}
		c.Path = cleaned
		c.RawPath = ""
	}
	return c.String()
}
