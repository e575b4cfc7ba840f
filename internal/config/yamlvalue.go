package config

import (
	"bytes"
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Limits on a config file. A functions_worker.yml is tens of kilobytes; these
// leave two orders of magnitude of room (100k properties load, in about a
// second) and bound the time and memory a load can take, including the
// initial one, which no newer file change can cancel.
const (
	// MaxFileBytes is the largest config file accepted.
	MaxFileBytes = 4 << 20
	// MaxNodes is the most values (scalars, lists, mappings) a file may
	// expand to, counting every use of an alias as a full copy of its target, so
	// that an alias bomb (a: &a [x,x], b: &b [*a,*a], ...) is refused however it
	// is shaped. yaml.v3's decoder, which valueBuilder replaces, has its own
	// guard (values decoded under aliases may be only a share of all values);
	// this bound takes its place.
	MaxNodes = 500_000
)

// cancelEvery is how many nodes are converted between checks of the context.
const cancelEvery = 4096

// checkSize refuses data over MaxFileBytes, naming the line where the limit is crossed.
func checkSize(name string, data []byte) error {
	if len(data) <= MaxFileBytes {
		return nil
	}
	return &SyntaxError{File: name, Line: bytes.Count(data[:MaxFileBytes], []byte("\n")) + 1,
		Msg: fmt.Sprintf("the file is %d bytes, over the limit of %d (%d MiB); refusing to load it", len(data), MaxFileBytes, MaxFileBytes>>20)}
}

// valueBuilder turns a yaml.v3 node tree into the nested map[string]any that
// yaml.Unmarshal into an interface gives (and koanf's YAML parser returns), in
// time linear in the expanded size. yaml.v3's decoder compares every key of a
// mapping with every other one to find duplicates, which made a 20k-entry
// properties: block take over a minute and a 200k one never finish.
type valueBuilder struct {
	ctx       context.Context
	file      string
	left      int                 // node budget
	expanding map[*yaml.Node]bool // alias targets being expanded, to catch cycles
}

// buildValue converts n; errors are *SyntaxError naming file and line, or ctx's error.
func buildValue(ctx context.Context, file string, n *yaml.Node) (any, error) {
	b := &valueBuilder{ctx: ctx, file: file, left: MaxNodes, expanding: map[*yaml.Node]bool{}}
	return b.value(n)
}

func (b *valueBuilder) fail(n *yaml.Node, format string, args ...any) error {
	return &SyntaxError{File: b.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

func (b *valueBuilder) value(n *yaml.Node) (any, error) {
	b.left--
	if b.left < 0 {
		return nil, b.fail(n, "the file expands to more than %d values (aliases count once per use); refusing to load it", MaxNodes)
	}
	if b.left%cancelEvery == 0 {
		if err := b.ctx.Err(); err != nil {
			return nil, fmt.Errorf("load config %s: %w", b.file, err)
		}
	}
	switch n.Kind {
	case 0: // an empty input leaves the document node unset
		return nil, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return b.value(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, b.fail(n, "unknown anchor %q referenced", n.Value)
		}
		if b.expanding[n.Alias] {
			return nil, b.fail(n, "anchor %q value contains itself", n.Value)
		}
		b.expanding[n.Alias] = true
		defer delete(b.expanding, n.Alias)
		v, err := b.value(n.Alias)
		if se, ok := err.(*SyntaxError); ok && b.left < 0 {
			se.Line = n.Line // the outermost use of an alias that blew the budget
		}
		return v, err
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := b.value(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return b.mapping(n)
	case yaml.ScalarNode:
		return b.scalar(n)
	}
	return nil, b.fail(n, "unexpected YAML node kind %d", n.Kind)
}

// scalar resolves a scalar as yaml.v3 does into an interface (ints, floats,
// booleans, null; timestamps stay strings), taking the fast path for strings.
func (b *valueBuilder) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, syntaxError(b.file, err)
	}
	return v, nil
}

// mapping converts a mapping: keys become strings (as koanf makes them), a
// duplicated key is an error as in yaml.v3 (found with a map, not by comparing
// all pairs), and "<<" merges as in yaml.v3: explicit keys win, then earlier
// merged mappings over later ones.
func (b *valueBuilder) mapping(n *yaml.Node) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	type seenKey struct {
		kind  yaml.Kind
		value string
	}
	seen := make(map[seenKey]int, len(n.Content)/2)
	var merge *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		sk := seenKey{kn.Kind, kn.Value}
		if line, dup := seen[sk]; dup {
			return nil, b.fail(kn, "mapping key %#v already defined at line %d", kn.Value, line)
		}
		seen[sk] = kn.Line
		if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && (kn.Tag == "" || kn.Tag == "!" || kn.ShortTag() == "!!merge") {
			merge = vn
			continue
		}
		key, err := b.key(kn)
		if err != nil {
			return nil, err
		}
		if key == nil {
			continue // yaml.v3 drops a null key
		}
		v, err := b.value(vn)
		if err != nil {
			return nil, err
		}
		out[*key] = v
	}
	if merge == nil {
		return out, nil
	}
	sources := []*yaml.Node{merge}
	if merge.Kind == yaml.SequenceNode {
		sources = merge.Content
	}
	for _, s := range sources {
		target := s
		if s.Kind == yaml.AliasNode && s.Alias != nil {
			target = s.Alias
		}
		if target.Kind != yaml.MappingNode {
			return nil, b.fail(s, "map merge requires map or sequence of maps as the value")
		}
		v, err := b.value(s)
		if err != nil {
			return nil, err
		}
		for k, x := range v.(map[string]any) {
			if _, ok := out[k]; !ok {
				out[k] = x
			}
		}
	}
	return out, nil
}

// key renders a mapping key as koanf does after yaml.v3 (fmt's %v of the
// value); nil for a null key, which yaml.v3 drops.
func (b *valueBuilder) key(n *yaml.Node) (*string, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return nil, b.fail(n, "invalid map key: a key must be a scalar, not a list or mapping")
	}
	v, err := b.scalar(n)
	if err != nil || v == nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
	}
	return &s, nil
}
