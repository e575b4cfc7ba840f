package config

import (
	"fmt"
	"strings"
)

// Properties is a Java properties file (broker.conf) as java.util.Properties
// reads it: a later key replaces an earlier one, and each value remembers the
// line its logical line starts on.
type Properties struct {
	// File is the file name used in messages.
	File    string
	entries map[string]propEntry
}

type propEntry struct {
	value string
	line  int
}

// Get returns key's value as Java would hold it (untrimmed) and its line.
func (p *Properties) Get(key string) (value string, line int, ok bool) {
	e, ok := p.entries[key]
	return e.value, e.line, ok
}

// Keys returns every key, in no particular order.
func (p *Properties) Keys() []string {
	keys := make([]string, 0, len(p.entries))
	for k := range p.entries {
		keys = append(keys, k)
	}
	return keys
}

// ParseProperties reads data the way java.util.Properties.load(InputStream)
// does, which is how Pulsar's PulsarConfigurationLoader reads broker.conf:
// bytes are ISO-8859-1; lines end with \n, \r or \r\n; blank lines and lines
// whose first non-blank character is # or ! are comments; a line ending in an
// odd number of backslashes continues on the next line, whose leading blanks
// are dropped; the key ends at the first unescaped '=', ':' or blank, after
// which blanks and one '=' or ':' are skipped; \t \n \r \f and \uXXXX are
// escapes and any other escaped character stands for itself. The only error
// Java knows is a malformed \uXXXX escape; it is reported with file, line and
// key.
func ParseProperties(name string, data []byte) (*Properties, error) {
	p := &Properties{File: name, entries: map[string]propEntry{}}
	// ISO-8859-1: every byte is the code point of the same value.
	runes := make([]rune, len(data))
	for i, b := range data {
		runes[i] = rune(b)
	}
	lr := lineReader{src: runes, line: 1}
	for {
		logical, start, ok := lr.next()
		if !ok {
			return p, nil
		}
		key, value := splitProperty(logical)
		k, err := unescapeProperty(key)
		if err != nil {
			return nil, &SyntaxError{File: name, Line: start, Msg: fmt.Sprintf("%s: key: %v", key, err)}
		}
		v, err := unescapeProperty(value)
		if err != nil {
			return nil, &SyntaxError{File: name, Line: start, Msg: fmt.Sprintf("%s: %v", k, err)}
		}
		p.entries[k] = propEntry{value: v, line: start}
	}
}

func isPropBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\f' }

// lineReader yields logical lines (continuations joined, escapes still in place).
type lineReader struct {
	src  []rune
	pos  int
	line int // line number of src[pos]
}

// natural returns the next natural line without its terminator.
func (r *lineReader) natural() (text []rune, line int, ok bool) {
	if r.pos >= len(r.src) {
		return nil, 0, false
	}
	line, start := r.line, r.pos
	for r.pos < len(r.src) && r.src[r.pos] != '\n' && r.src[r.pos] != '\r' {
		r.pos++
	}
	text = r.src[start:r.pos]
	if r.pos < len(r.src) {
		if r.src[r.pos] == '\r' && r.pos+1 < len(r.src) && r.src[r.pos+1] == '\n' {
			r.pos++
		}
		r.pos++
		r.line++
	}
	return text, line, true
}

func trimLeftBlank(s []rune) []rune {
	for len(s) > 0 && isPropBlank(s[0]) {
		s = s[1:]
	}
	return s
}

// continued reports whether s ends in an odd number of backslashes.
func continued(s []rune) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// next returns the next logical line and the line it starts on.
func (r *lineReader) next() (string, int, bool) {
	for {
		text, line, ok := r.natural()
		if !ok {
			return "", 0, false
		}
		text = trimLeftBlank(text)
		if len(text) == 0 || text[0] == '#' || text[0] == '!' {
			continue // blank or comment (a comment never continues)
		}
		var b strings.Builder
		for continued(text) {
			b.WriteString(string(text[:len(text)-1]))
			more, _, ok := r.natural()
			if !ok {
				return b.String(), line, true // a trailing backslash at the end of the file is dropped
			}
			text = trimLeftBlank(more)
		}
		b.WriteString(string(text))
		return b.String(), line, true
	}
}

// splitProperty splits a logical line into its raw key and value.
func splitProperty(s string) (key, value string) {
	rs := []rune(s)
	i := 0
	sepSeen := false
	for i < len(rs) {
		c := rs[i]
		if c == '\\' {
			i += 2 // an escaped character never ends the key
			continue
		}
		if c == '=' || c == ':' {
			sepSeen = true
			break
		}
		if isPropBlank(c) {
			break
		}
		i++
	}
	if i > len(rs) {
		i = len(rs)
	}
	key = string(rs[:i])
	j := i
	if sepSeen {
		j++
	} else {
		for j < len(rs) && isPropBlank(rs[j]) {
			j++
		}
		if j < len(rs) && (rs[j] == '=' || rs[j] == ':') {
			j++
		}
	}
	for j < len(rs) && isPropBlank(rs[j]) {
		j++
	}
	return key, string(rs[j:])
}

// unescapeProperty resolves Java's properties escapes.
func unescapeProperty(s string) (string, error) {
	if !strings.ContainsRune(s, '\\') {
		return s, nil
	}
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c != '\\' {
			b.WriteRune(c)
			continue
		}
		i++
		if i == len(rs) {
			break // a lone trailing backslash stands for nothing
		}
		switch c = rs[i]; c {
		case 't':
			b.WriteRune('\t')
		case 'n':
			b.WriteRune('\n')
		case 'r':
			b.WriteRune('\r')
		case 'f':
			b.WriteRune('\f')
		case 'u':
			if i+4 >= len(rs) {
				return "", malformedU(string(rs[i-1:]))
			}
			var v rune
			for _, h := range rs[i+1 : i+5] {
				var d rune
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return "", malformedU(string(rs[i-1 : i+5]))
				}
				v = v<<4 | d
			}
			b.WriteRune(v)
			i += 4
		default:
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

func malformedU(esc string) error {
	return fmt.Errorf(`malformed \uxxxx escape %q (the broker refuses the file too: "Malformed \uxxxx encoding.")`, esc)
}
