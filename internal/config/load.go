package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// envPrefix starts the environment variables that override keys, as in the Docker
// images' gen-yml-from-env.py.
const envPrefix = "PF_"

// Load reads the YAML file at path, overlays PF_* environment variables and checks
// the result. err is non-nil only when the file cannot be read or is not a YAML
// mapping; everything else is a Problem. The Config is returned even when Problems
// has errors, so tools can show what was understood, but it must not be used to run
// a worker unless Problems.HasErrors() is false.
//
// Environment variables: PF_<key>, nested keys joined with "_"
// (PF_functionRuntimeFactoryConfigs_logDirectory). Under a free-form string map
// (properties, secretsProviderConfiguratorConfig, customLabels, functionDockerImages)
// the rest of the name is one key, so PF_properties_brokerClient_tlsTrustCertsFilePath
// sets properties["brokerClient_tlsTrustCertsFilePath"]. String keys take the value
// verbatim; numbers, booleans and objects are parsed as YAML (an empty value is null);
// list keys take "[a, b]" as a YAML flow sequence and anything else as a
// comma-separated list, as the Docker images do.
//
// A file over MaxFileBytes, or expanding to more than MaxNodes values, is refused
// with a *SyntaxError naming the file and line.
func Load(path string) (*Config, Problems, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that gives up with ctx's error (wrapped) once ctx is done,
// so a reload superseded by a newer change, or by shutdown, stops at once.
func LoadContext(ctx context.Context, path string) (*Config, Problems, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	return LoadBytesContext(ctx, path, data, os.Environ())
}

// readLimited reads the file at path, but no more than one byte past
// MaxFileBytes, so that a huge file is refused without reading it whole.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := checkSize(path, data); err != nil {
		if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() {
			err.(*SyntaxError).Msg = fmt.Sprintf("the file is %d bytes, over the limit of %d (%d MiB); refusing to load it",
				fi.Size(), MaxFileBytes, MaxFileBytes>>20)
		}
		return nil, err
	}
	return data, nil
}

// LoadBytes is Load for a file already in memory: name is used in messages, env
// holds "NAME=value" entries (os.Environ() in production).
func LoadBytes(name string, data []byte, env []string) (*Config, Problems, error) {
	return LoadBytesContext(context.Background(), name, data, env)
}

// LoadBytesContext is LoadBytes that stops once ctx is done (see LoadContext).
func LoadBytesContext(ctx context.Context, name string, data []byte, env []string) (*Config, Problems, error) {
	cfg, probs, _, err := loadLayers(ctx, name, data, env, nil)
	return cfg, probs, err
}

// loadLayers is LoadBytesContext with one more layer above the environment:
// values the broker's broker.conf dictates in co-located mode (brokerconf.go).
// It also returns the loader, whose lines and env say where each key was set.
func loadLayers(ctx context.Context, name string, data []byte, env []string, broker *overlay) (*Config, Problems, *loader, error) {
	if err := checkSize(name, data); err != nil {
		return nil, nil, nil, err
	}
	l := &loader{
		file:  name,
		lines: map[string]int{},
		texts: map[string]string{},
		env:   map[string]string{},
		bad:   map[string]bool{},
		over:  broker,
	}

	// yaml.v3's node tree gives us line numbers, which koanf's maps do not keep.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		se := syntaxError(name, err)
		if start, fail := syntaxLines(data, err); start > 0 {
			se.Line = start
			if fail != start {
				se.Msg += fmt.Sprintf(" (the parser gave up at line %d)", fail)
			}
		}
		return nil, nil, nil, se
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode && root.ShortTag() != "!!null" {
			return nil, nil, nil, &SyntaxError{File: name, Line: root.Line,
				Msg: "expected a mapping of keys at the top level, got " + nodeKind(root)}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("load config %s: %w", name, err)
	}
	// Built from the node tree in linear time, budgeted and cancellable, instead
	// of a second parse by koanf's YAML parser, whose decoding into maps is
	// quadratic in the size of a mapping (see valueBuilder).
	raw, err := buildValue(ctx, name, &doc)
	if err != nil {
		return nil, nil, nil, err
	}
	top, _ := raw.(map[string]any)
	if top == nil {
		top = map[string]any{}
	}
	l.indexLines(&doc, nil)

	k := koanf.New(".")
	if err := k.Load(mapProvider(top), nil); err != nil {
		return nil, nil, nil, fmt.Errorf("load config %s: %w", name, err)
	}
	if overlay := l.readEnv(env); len(overlay) > 0 {
		if err := k.Load(mapProvider(overlay), nil); err != nil {
			return nil, nil, nil, fmt.Errorf("apply environment overrides to %s: %w", name, err)
		}
	}
	if broker != nil && len(broker.values) > 0 {
		if err := k.Load(mapProvider(broker.values), nil); err != nil {
			return nil, nil, nil, fmt.Errorf("apply %s to %s: %w", broker.file, name, err)
		}
	}

	cfg := Default()
	l.decodeStruct(nil, k.Raw(), reflect.ValueOf(cfg).Elem())
	l.validate(cfg)
	l.probs.sort()
	return cfg, l.probs, l, nil
}

// mapProvider hands koanf the environment overlay. koanf's own env provider reads
// os.Environ directly, which tests cannot control, and cannot tell list keys apart.
type mapProvider map[string]any

// ReadBytes is not used: koanf calls Read when no parser is given.
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("map provider has no bytes")
}

// Read returns the overlay as a nested key map.
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

var yamlLine = regexp.MustCompile(`line (\d+): `)

// syntaxError turns a YAML parser error into file:line form.
func syntaxError(name string, err error) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	line := 0
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[:m[0]] + msg[m[1]:]
	} else if !strings.Contains(msg, "alias") {
		line = 1 // yaml.v3 leaves the number out exactly when the error is on the first line
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] // the first complaint is enough to find the spot
	}
	return &SyntaxError{File: name, Line: line, Msg: msg}
}

// syntaxLines locates a syntax error. yaml.v3's own number is where the enclosing
// construct began, zero-based for parser errors, so it often points too early.
//
// fail is the first line whose inclusion makes the parser fail exactly as on the
// whole file: a prefix stopping before it parses or fails differently (truncated),
// so a binary search finds it in a few parses. start is the line after the longest
// prefix that parses, i.e. where the broken construct (say an unclosed "[") begins;
// it is searched backwards from fail within a parsing budget, else equals fail.
func syntaxLines(data []byte, full error) (start, fail int) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	end := make([]int, len(lines)+1)
	for i, l := range lines {
		end[i+1] = end[i] + len(l)
	}
	var n yaml.Node
	parse := func(i int) error { return yaml.Unmarshal(data[:end[i]:end[i]], &n) }
	fail = sort.Search(len(lines)+1, func(i int) bool {
		err := parse(i)
		return err != nil && err.Error() == full.Error()
	})
	if fail == 0 || fail > len(lines) {
		return 0, 0
	}
	budget := 1 << 20 // bytes handed to the parser
	for i := fail - 1; i >= 0; i-- {
		if budget -= end[i]; budget < 0 {
			break
		}
		if parse(i) == nil {
			return i + 1, fail
		}
	}
	return fail, fail
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

// envProblem records a problem about an environment variable that maps to no key.
func (l *loader) envProblem(sev Severity, name, format string, args ...any) {
	l.probs = append(l.probs, Problem{File: EnvironmentFile, Key: name, Severity: sev,
		Message: fmt.Sprintf(format, args...)})
}

// readEnv turns PF_* variables into a nested key map, typed by the schema, and
// remembers which variable set which key so problems can name it.
func (l *loader) readEnv(environ []string) map[string]any {
	vals := map[string]string{}
	var names []string
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		if _, seen := vals[name]; !seen {
			names = append(names, name)
		}
		vals[name] = val // the last one wins, as with getenv on a duplicated entry
	}
	// Sorted, so PF_a={...} is applied before PF_a_b and the more specific one wins.
	slices.Sort(names)

	out := map[string]any{}
	for _, name := range names {
		path, leaf, ok := l.envPath(name)
		if !ok {
			continue
		}
		v, err := envValue(vals[name], leaf)
		if err != nil {
			l.envProblem(Error, name, "cannot parse value: %v", err)
			continue
		}
		setPath(out, path, v)
		l.recordEnv(path, v, name)
	}
	return out
}

// runtimeConfigTypes are the schemas searched for keys under functionRuntimeFactoryConfigs.
var runtimeConfigTypes = []reflect.Type{
	reflect.TypeFor[ProcessRuntimeFactoryConfig](),
	reflect.TypeFor[ThreadRuntimeFactoryConfig](),
	reflect.TypeFor[KubernetesRuntimeFactoryConfig](),
}

// envPath maps a variable name to a key path by walking the schema, and returns the
// type of the value it sets (nil inside free-form maps).
func (l *loader) envPath(name string) ([]string, reflect.Type, bool) {
	segs := strings.Split(strings.TrimPrefix(name, envPrefix), "_")
	if segs[0] == "containerFactory" && len(segs) == 1 {
		l.envProblem(Warning, name, "only the Docker images' gen-yml-from-env.py uses it (to pick a container factory); ignored")
		return nil, nil, false
	}
	t := reflect.TypeFor[Config]()
	var path []string
	for i := 0; ; {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if i == len(segs) {
			return path, t, true
		}
		switch {
		case t == nil:
			// Free-form object: split on every "_", like gen-yml-from-env.py.
			return append(path, segs[i:]...), nil, true
		case t.Kind() == reflect.Struct:
			f, ok := fieldIndex(t)[segs[i]]
			if !ok {
				if len(path) == 0 {
					if where, ok := misplaced[segs[i]]; ok {
						l.envProblem(Warning, name, "%q has no effect at the top level; %s", segs[i], where)
						return nil, nil, false
					}
				}
				msg := fmt.Sprintf("unknown key %q", name)
				if s, ok := suggest(segs[i], keysOf(t)); ok {
					msg += fmt.Sprintf("; did you mean %q?", envPrefix+strings.Join(child(path, s), "_"))
				}
				l.envProblem(Warning, name, "%s", msg)
				return nil, nil, false
			}
			path = append(path, segs[i])
			t = t.Field(f).Type
			i++
			if len(path) == 1 && path[0] == "functionRuntimeFactoryConfigs" && i < len(segs) {
				t = nil
				for _, rt := range runtimeConfigTypes {
					if f, ok := fieldIndex(rt)[segs[i]]; ok {
						path = append(path, segs[i])
						t = rt.Field(f).Type
						i++
						break
					}
				}
			}
		case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String:
			return append(path, strings.Join(segs[i:], "_")), t.Elem(), true
		case t.Kind() == reflect.Map:
			t = nil
		default:
			l.envProblem(Warning, name, "unknown key %q: %s takes no sub-keys", name, displayPath(path))
			return nil, nil, false
		}
	}
}

// envValue converts a variable's text to the value a YAML file would have given.
func envValue(v string, leaf reflect.Type) (any, error) {
	for leaf != nil && leaf.Kind() == reflect.Pointer {
		leaf = leaf.Elem()
	}
	switch {
	case leaf != nil && leaf.Kind() == reflect.String:
		return v, nil
	case leaf != nil && leaf.Kind() == reflect.Slice && !strings.HasPrefix(strings.TrimSpace(v), "["):
		items := []any{}
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		return items, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(v), &n); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return nil, errors.New(yamlLine.ReplaceAllString(msg, "")) // one line, no number needed
	}
	x, err := buildValue(context.Background(), "", &n) // linear and bounded, as for files
	if se, ok := err.(*SyntaxError); ok {
		return nil, errors.New(se.Msg)
	} else if err != nil {
		return nil, err
	}
	return x, nil
}

// setPath stores v at path in m, replacing any non-mapping on the way.
func setPath(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// recordEnv remembers name as the origin of every leaf under path, so a file key
// next to an environment-set one is still reported at its own line.
func (l *loader) recordEnv(path []string, v any, name string) {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		for k, x := range m {
			l.recordEnv(child(path, k), x, name)
		}
		return
	}
	l.env[pathKey(path)] = name
}
