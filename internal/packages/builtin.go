package packages

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Definition is what a NAR says about itself in
// META-INF/services/pulsar-io.yaml (connectors, and functions in Pulsar 4.0;
// pulsar-function.yaml is read when pulsar-io.yaml is absent).
type Definition struct {
	Name              string `yaml:"name" json:"name"`
	Description       string `yaml:"description" json:"description"`
	SourceClass       string `yaml:"sourceClass" json:"sourceClass,omitempty"`
	SinkClass         string `yaml:"sinkClass" json:"sinkClass,omitempty"`
	SourceConfigClass string `yaml:"sourceConfigClass" json:"sourceConfigClass,omitempty"`
	SinkConfigClass   string `yaml:"sinkConfigClass" json:"sinkConfigClass,omitempty"`
	FunctionClass     string `yaml:"functionClass" json:"functionClass,omitempty"`
}

// Archive is a built-in NAR and its definition.
type Archive struct {
	Path       string // absolute
	Definition Definition
}

// serviceFiles are read in order; the first present one wins.
var serviceFiles = []string{"META-INF/services/pulsar-io.yaml", "META-INF/services/pulsar-function.yaml"}

// maxServiceFile bounds the YAML we read from an archive.
const maxServiceFile = 1 << 20

// errNoDefinition: the archive has no service file.
var errNoDefinition = errors.New("no META-INF/services/pulsar-io.yaml")

// ReadDefinition reads a NAR's service definition without a JVM.
func ReadDefinition(narPath string) (Definition, error) {
	var d Definition
	zr, err := zip.OpenReader(narPath)
	if err != nil {
		return d, fmt.Errorf("read archive %s: %w", narPath, err)
	}
	defer zr.Close()
	for _, name := range serviceFiles {
		f, err := zr.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("read %s in %s: %w", name, narPath, err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxServiceFile+1))
		f.Close()
		if err != nil {
			return d, fmt.Errorf("read %s in %s: %w", name, narPath, err)
		}
		if len(b) > maxServiceFile {
			return d, fmt.Errorf("%s in %s: larger than %d bytes", name, narPath, maxServiceFile)
		}
		if err := yaml.Unmarshal(b, &d); err != nil {
			return d, fmt.Errorf("parse %s in %s: %w", name, narPath, err)
		}
		return d, nil
	}
	return d, fmt.Errorf("%s: %w", narPath, errNoDefinition)
}

// ScanArchives reads every *.nar directly in dir, as Java's
// ConnectorUtils.searchForConnectors and FunctionUtils.searchForFunctions do,
// and returns them by definition name; keep says which definitions count
// (functions need a functionClass). A missing directory is empty; an unreadable
// archive is logged and skipped.
func ScanArchives(dir string, keep func(Definition) bool, log *slog.Logger) (map[string]Archive, error) {
	out := map[string]Archive{}
	if log == nil {
		log = slog.Default()
	}
	if dir == "" {
		return out, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(abs, "*.nar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches) // Java's order is the directory's; ours is at least stable
	for _, m := range matches {
		d, err := ReadDefinition(m)
		if err != nil {
			log.Warn("skipping built-in archive", "path", m, "err", err)
			continue
		}
		if d.Name == "" || (keep != nil && !keep(d)) {
			log.Warn("skipping built-in archive without a usable definition", "path", m, "name", d.Name)
			continue
		}
		if prev, dup := out[d.Name]; dup {
			log.Warn("two built-in archives share a name; the later one wins", "name", d.Name, "first", prev.Path, "second", m)
		}
		out[d.Name] = Archive{Path: m, Definition: d}
	}
	return out, nil
}

// builtins caches the scans of connectorsDirectory and functionsDirectory.
type builtins struct {
	connectorsDir, functionsDir string
	log                         *slog.Logger

	mu         sync.Mutex
	loaded     bool
	connectors map[string]Archive
	functions  map[string]Archive
}

func (b *builtins) load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded {
		return nil
	}
	return b.reloadLocked()
}

func (b *builtins) reloadLocked() error {
	c, err := ScanArchives(b.connectorsDir, nil, b.log)
	if err != nil {
		return fmt.Errorf("scan connectorsDirectory %s: %w", b.connectorsDir, err)
	}
	f, err := ScanArchives(b.functionsDir, func(d Definition) bool { return d.FunctionClass != "" }, b.log)
	if err != nil {
		return fmt.Errorf("scan functionsDirectory %s: %w", b.functionsDir, err)
	}
	b.connectors, b.functions, b.loaded = c, f, true
	return nil
}

func (b *builtins) reload() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reloadLocked()
}

func (b *builtins) lookup(connector bool, name string) (Archive, error) {
	if err := b.load(); err != nil {
		return Archive{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, dir, what := b.functions, b.functionsDir, "function"
	if connector {
		m, dir, what = b.connectors, b.connectorsDir, "connector"
	}
	a, ok := m[name]
	if !ok {
		return Archive{}, fmt.Errorf("%w: no built-in %s %q in %s (known: %s)", ErrNotFound, what, name, dir, strings.Join(keys(m), ", "))
	}
	return a, nil
}

func (b *builtins) all(connector bool) map[string]Archive {
	if err := b.load(); err != nil {
		b.log.Warn("built-in archives", "err", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	src := b.functions
	if connector {
		src = b.connectors
	}
	out := make(map[string]Archive, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out
}

func keys(m map[string]Archive) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// statFile is os.Stat that names the package in its error.
func statFile(p string) (os.FileInfo, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	return fi, err
}
