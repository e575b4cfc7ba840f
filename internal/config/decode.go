package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// loader decodes the merged key map into a Config and collects problems, attributing
// each to the file line or environment variable its value came from.
type loader struct {
	file  string
	lines map[string]int    // pathKey -> line of the key (or list item) in the file
	texts map[string]string // pathKey -> source text of a scalar, to keep "1.0" as written
	env   map[string]string // pathKey of each value set from the environment -> variable name
	bad   map[string]bool   // top-level keys whose value could not be decoded
	quiet bool              // drop problems (typed accessors re-decode already checked values)
	over  *overlay          // co-located mode: the keys broker.conf sets, above file and environment
	probs Problems
}

// pathKey joins path segments with NUL, which cannot clash with characters in YAML keys
// the way "." would (properties and labels often contain dots).
func pathKey(path []string) string { return strings.Join(path, "\x00") }

// displayPath renders a path as the dotted key operators write, with list indexes as [i].
func displayPath(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// child returns path+seg without sharing path's backing array.
func child(path []string, seg string) []string {
	return append(slices.Clip(path), seg)
}

// envName returns the variable that set path (or an enclosing value), if any.
func (l *loader) envName(path []string) (string, bool) {
	for i := len(path); i > 0; i-- {
		if name, ok := l.env[pathKey(path[:i])]; ok {
			return name, true
		}
	}
	return "", false
}

// report records a problem about path, located in the environment or in the file.
func (l *loader) report(sev Severity, path []string, format string, args ...any) {
	if l.quiet {
		return
	}
	if sev == Error && len(path) > 0 && l.bad != nil {
		// Cross-key rules skip keys that already failed, so one typo is one error.
		l.bad[path[0]] = true
	}
	p := Problem{Severity: sev, Message: fmt.Sprintf(format, args...)}
	if o, ok := l.over.origin(path); ok {
		p.File, p.Line, p.Key = o.File, o.Line, o.Key
		if o.Key != displayPath(path) {
			p.Key = o.Key + " (" + displayPath(path) + ")"
		}
	} else if name, ok := l.envName(path); ok {
		p.File, p.Key = EnvironmentFile, name
	} else {
		p.File, p.Key = l.file, displayPath(path)
		for i := len(path); i > 0; i-- {
			if line, ok := l.lines[pathKey(path[:i])]; ok {
				p.Line = line
				break
			}
		}
	}
	l.probs = append(l.probs, p)
}

func (l *loader) errorf(path []string, format string, args ...any) {
	l.report(Error, path, format, args...)
}

func (l *loader) warnf(path []string, format string, args ...any) {
	l.report(Warning, path, format, args...)
}

// indexLines maps every key and list item of the document to its line and, for
// scalars, its source text. Aliases are not followed: their targets are indexed
// where they are defined, and following them could blow up on alias-heavy input.
func (l *loader) indexLines(n *yaml.Node, path []string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			l.indexLines(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			p := child(path, k.Value)
			l.lines[pathKey(p)] = k.Line
			if v.Kind == yaml.ScalarNode {
				l.texts[pathKey(p)] = v.Value
			}
			l.indexLines(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := child(path, "["+strconv.Itoa(i)+"]")
			l.lines[pathKey(p)] = c.Line
			if c.Kind == yaml.ScalarNode {
				l.texts[pathKey(p)] = c.Value
			}
			l.indexLines(c, p)
		}
	}
}

// fieldIndex maps koanf tags of a struct type to field indexes.
func fieldIndex(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" {
			out[tag] = i
		}
	}
	return out
}

// keysOf returns a struct type's koanf tags, sorted.
func keysOf(t reflect.Type) []string {
	var out []string
	for k := range fieldIndex(t) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// asMap accepts both map shapes YAML decoding produces.
func asMap(raw any) (map[string]any, bool) {
	switch m := raw.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describe names a raw value's YAML type for messages.
func describe(raw any) string {
	switch v := raw.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case int, int64, uint64, float64:
		return fmt.Sprintf("number %v", v)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", raw)
}

// decodeStruct fills the tagged fields of dst from a mapping; keys it does not know
// are warned about, with a suggestion, and otherwise ignored (as Java does).
func (l *loader) decodeStruct(path []string, raw any, dst reflect.Value) bool {
	m, ok := asMap(raw)
	if !ok {
		l.errorf(path, "expected a mapping of keys, got %s", describe(raw))
		return false
	}
	fields := fieldIndex(dst.Type())
	for _, k := range sortedKeys(m) {
		p := child(path, k)
		i, ok := fields[k]
		if !ok {
			l.unknownKey(p, keysOf(dst.Type()))
			continue
		}
		l.decode(p, m[k], dst.Field(i))
	}
	return true
}

// misplaced are keys the 4.0.8 yml shows (commented) at the top level although they
// belong to a runtime's functionRuntimeFactoryConfigs; Java ignores them up there.
var misplaced = map[string]string{
	"configAdminCLI":          "the Kubernetes runtime reads functionRuntimeFactoryConfigs.configAdminCLI",
	"pulsarClientMemoryLimit": "the thread runtime reads functionRuntimeFactoryConfigs.pulsarClientMemoryLimit",
}

// unknownKey warns about a key not in the schema, suggesting the closest known one.
func (l *loader) unknownKey(path []string, known []string) {
	key := path[len(path)-1]
	if len(path) == 1 {
		if where, ok := misplaced[key]; ok {
			l.warnf(path, "%q has no effect at the top level (Java ignores it too); %s", key, where)
			return
		}
	}
	_, env := l.envName(path)
	quote := func(p []string) string {
		if env {
			return envPrefix + strings.Join(p, "_")
		}
		return displayPath(p)
	}
	msg := fmt.Sprintf("unknown key %q", quote(path))
	if s, ok := suggest(key, known); ok {
		msg += fmt.Sprintf("; did you mean %q?", quote(child(path[:len(path)-1], s)))
	}
	l.warnf(path, "%s", msg)
}

// decode converts raw into dst following Jackson's leniency where Java files rely on
// it (quoted numbers and booleans, scalars for strings, null as the zero value), and
// reports anything else. dst is left untouched when the value is unusable.
func (l *loader) decode(path []string, raw any, dst reflect.Value) bool {
	switch dst.Kind() {
	case reflect.Pointer:
		if raw == nil {
			dst.SetZero()
			return true
		}
		if s, ok := raw.(string); ok && strings.TrimSpace(s) == "" && dst.Type().Elem().Kind() != reflect.String {
			dst.SetZero() // Jackson reads "" as null for Integer/Boolean/objects
			return true
		}
		nv := reflect.New(dst.Type().Elem())
		if d, ok := nv.Interface().(defaulter); ok {
			d.applyDefaults()
		}
		if !l.decode(path, raw, nv.Elem()) {
			return false
		}
		dst.Set(nv)
		return true
	case reflect.Struct:
		return l.decodeStruct(path, raw, dst)
	case reflect.String:
		s, ok := l.toString(path, raw)
		if ok {
			dst.SetString(s)
		}
		return ok
	case reflect.Bool:
		b, ok := l.toBool(path, raw)
		if ok {
			dst.SetBool(b)
		}
		return ok
	case reflect.Int, reflect.Int64:
		bits := 64
		if dst.Kind() == reflect.Int {
			bits = 32 // Go int fields mirror Java int
		}
		n, ok := l.toInt(path, raw, bits)
		if ok {
			dst.SetInt(n)
		}
		return ok
	case reflect.Float64:
		f, ok := l.toFloat(path, raw)
		if ok {
			dst.SetFloat(f)
		}
		return ok
	case reflect.Slice:
		return l.decodeStrings(path, raw, dst)
	case reflect.Map:
		return l.decodeMap(path, raw, dst)
	}
	l.errorf(path, "internal: no decoder for %s", dst.Type())
	return false
}

func (l *loader) toString(path []string, raw any) (string, bool) {
	switch v := raw.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case []byte:
		return string(v), true
	case []any, map[string]any, map[any]any:
		l.errorf(path, "expected a string, got %s", describe(raw))
		return "", false
	}
	if t, ok := l.texts[pathKey(path)]; ok {
		return t, true
	}
	if t, ok := raw.(time.Time); ok {
		return t.Format(time.RFC3339Nano), true
	}
	if f, ok := raw.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return fmt.Sprint(raw), true
}

func (l *loader) toBool(path []string, raw any) (bool, bool) {
	switch v := raw.(type) {
	case nil:
		return false, true
	case bool:
		return v, true
	case string:
		switch s := strings.TrimSpace(v); {
		case strings.EqualFold(s, "true"):
			return true, true
		case strings.EqualFold(s, "false"), s == "":
			return false, true
		}
	}
	l.errorf(path, "expected true or false, got %s", describe(raw))
	return false, false
}

func (l *loader) toInt(path []string, raw any, bits int) (int64, bool) {
	var n int64
	switch v := raw.(type) {
	case nil:
		return 0, true
	case int:
		n = int64(v)
	case int64:
		n = v
	case uint64:
		if v > math.MaxInt64 {
			l.errorf(path, "number %v is out of range", v)
			return 0, false
		}
		n = int64(v)
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			l.errorf(path, "expected a whole number, got %v", v)
			return 0, false
		}
		n = int64(v)
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, true
		}
		p, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			l.errorf(path, "expected an integer, got %s", describe(raw))
			return 0, false
		}
		n = p
	default:
		l.errorf(path, "expected an integer, got %s", describe(raw))
		return 0, false
	}
	if bits == 32 && (n < math.MinInt32 || n > math.MaxInt32) {
		l.errorf(path, "%d is out of range for a 32-bit integer", n)
		return 0, false
	}
	return n, true
}

func (l *loader) toFloat(path []string, raw any) (float64, bool) {
	switch v := raw.(type) {
	case nil:
		return 0, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, true
		}
	}
	l.errorf(path, "expected a number, got %s", describe(raw))
	return 0, false
}

// decodeStrings fills a []string from a YAML list of scalars. Java reads these keys
// into List or Set, and rejects a bare string, so we do too.
func (l *loader) decodeStrings(path []string, raw any, dst reflect.Value) bool {
	if raw == nil {
		dst.SetZero()
		return true
	}
	items, ok := raw.([]any)
	if !ok {
		l.errorf(path, "expected a list such as [a, b], got %s", describe(raw))
		return false
	}
	out := make([]string, 0, len(items))
	good := true
	for i, it := range items {
		s, ok := l.toString(child(path, "["+strconv.Itoa(i)+"]"), it)
		good = good && ok
		out = append(out, s)
	}
	if good {
		dst.Set(reflect.ValueOf(out))
	}
	return good
}

// decodeMap fills map[string]string (scalars only) or map[string]any (anything).
func (l *loader) decodeMap(path []string, raw any, dst reflect.Value) bool {
	if raw == nil {
		dst.SetZero()
		return true
	}
	m, ok := asMap(raw)
	if !ok {
		l.errorf(path, "expected a mapping of keys, got %s", describe(raw))
		return false
	}
	if dst.Type().Elem().Kind() == reflect.Interface {
		dst.Set(reflect.ValueOf(normalize(m)))
		return true
	}
	out := make(map[string]string, len(m))
	good := true
	for _, k := range sortedKeys(m) {
		s, ok := l.toString(child(path, k), m[k])
		good = good && ok
		out[k] = s
	}
	if good {
		dst.Set(reflect.ValueOf(out))
	}
	return good
}

// normalize deep-copies a decoded value so that every mapping is map[string]any.
func normalize(raw any) any {
	switch v := raw.(type) {
	case map[string]any, map[any]any:
		m, _ := asMap(v)
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	return raw
}
