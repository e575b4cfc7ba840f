package sasl

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// jaasEntry is one login module line of a JAAS section:
// "<class> <flag> key=value ... ;".
type jaasEntry struct {
	Class   string
	Flag    string
	Options map[string]string
}

// parseJAAS reads a JAAS login configuration (the file Java gets from
// -Djava.security.auth.login.config): named sections of login module
// entries, with // and /* */ comments and quoted or bare values. Sections
// keep their order; a name that appears twice keeps its first section.
func parseJAAS(src string) (map[string][]jaasEntry, error) {
	toks, err := jaasTokens(src)
	if err != nil {
		return nil, err
	}
	out := map[string][]jaasEntry{}
	i := 0
	next := func() (jaasToken, bool) {
		if i >= len(toks) {
			return jaasToken{}, false
		}
		i++
		return toks[i-1], true
	}
	expect := func(punct string, after string) error {
		t, ok := next()
		if !ok {
			return fmt.Errorf("line %d: expected %q after %s, found the end of the file", lastLine(toks), punct, after)
		}
		if t.quoted || t.text != punct {
			return fmt.Errorf("line %d: expected %q after %s, found %q", t.line, punct, after, t.text)
		}
		return nil
	}
	for i < len(toks) {
		name, _ := next()
		if !name.word() {
			return nil, fmt.Errorf("line %d: expected a section name, found %q", name.line, name.text)
		}
		if err := expect("{", "section "+name.text); err != nil {
			return nil, err
		}
		var entries []jaasEntry
		for {
			t, ok := next()
			if !ok {
				return nil, fmt.Errorf("section %s: missing \"}\"", name.text)
			}
			if !t.quoted && t.text == "}" {
				break
			}
			if !t.word() {
				return nil, fmt.Errorf("line %d: section %s: expected a login module class, found %q", t.line, name.text, t.text)
			}
			flag, ok := next()
			if !ok || !flag.word() {
				return nil, fmt.Errorf("line %d: section %s: login module %s has no control flag", t.line, name.text, t.text)
			}
			e := jaasEntry{Class: t.text, Flag: flag.text, Options: map[string]string{}}
			for {
				k, ok := next()
				if !ok {
					return nil, fmt.Errorf("section %s: login module %s: missing \";\"", name.text, t.text)
				}
				if !k.quoted && k.text == ";" {
					break
				}
				if !k.word() {
					return nil, fmt.Errorf("line %d: section %s: expected an option name, found %q", k.line, name.text, k.text)
				}
				if err := expect("=", "option "+k.text); err != nil {
					return nil, err
				}
				v, ok := next()
				if !ok || (!v.quoted && !v.word()) {
					return nil, fmt.Errorf("line %d: section %s: option %s has no value", k.line, name.text, k.text)
				}
				e.Options[k.text] = v.text
			}
			entries = append(entries, e)
		}
		if err := expect(";", "the \"}\" of section "+name.text); err != nil {
			return nil, err
		}
		if _, dup := out[name.text]; !dup {
			out[name.text] = entries
		}
	}
	return out, nil
}

type jaasToken struct {
	text   string
	quoted bool
	line   int
}

func (t jaasToken) word() bool {
	return !t.quoted && t.text != "" && !strings.ContainsAny(t.text, "{};=")
}

func lastLine(toks []jaasToken) int {
	if len(toks) == 0 {
		return 1
	}
	return toks[len(toks)-1].line
}

func jaasTokens(src string) ([]jaasToken, error) {
	var toks []jaasToken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated comment", line)
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += 2 + end + 2
		case c == '{' || c == '}' || c == ';' || c == '=':
			toks = append(toks, jaasToken{text: string(c), line: line})
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			start := line
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				if src[j] == '\n' {
					line++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, fmt.Errorf("line %d: unterminated quoted value", start)
			}
			toks = append(toks, jaasToken{text: b.String(), quoted: true, line: start})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n\f{};=\"'", rune(src[j])) && !strings.HasPrefix(src[j:], "//") && !strings.HasPrefix(src[j:], "/*") {
				j++
			}
			toks = append(toks, jaasToken{text: src[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}

// serviceLogin is what the worker takes from its JAAS section: the keytab
// and the principal of the Krb5LoginModule entry.
type serviceLogin struct {
	Keytab    string
	Principal string
}

// loadServiceLogin reads section of the JAAS file at path. The section must
// have a Krb5LoginModule entry with useKeyTab=true, a keyTab and a principal:
// the worker accepts tickets with the keytab's keys and never logs in itself.
func loadServiceLogin(path, section string) (serviceLogin, error) {
	if strings.TrimSpace(path) == "" {
		return serviceLogin{}, errors.New("no JAAS file: set saslJaasConfigFile to the file the Java worker gets from -Djava.security.auth.login.config")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return serviceLogin{}, fmt.Errorf("read JAAS file: %w", err)
	}
	sections, err := parseJAAS(string(b))
	if err != nil {
		return serviceLogin{}, fmt.Errorf("JAAS file %s: %w", path, err)
	}
	entries, ok := sections[section]
	if !ok {
		return serviceLogin{}, fmt.Errorf("JAAS file %s has no section %q (saslJaasServerSectionName)", path, section)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Class, ".Krb5LoginModule") {
			continue
		}
		if !strings.EqualFold(e.Options["useKeyTab"], "true") {
			return serviceLogin{}, fmt.Errorf("JAAS file %s, section %s: %s without useKeyTab=true: the worker needs the service's keytab", path, section, e.Class)
		}
		l := serviceLogin{Keytab: e.Options["keyTab"], Principal: e.Options["principal"]}
		if l.Keytab == "" {
			return serviceLogin{}, fmt.Errorf("JAAS file %s, section %s: %s has no keyTab", path, section, e.Class)
		}
		if l.Principal == "" || l.Principal == "*" {
			return serviceLogin{}, fmt.Errorf("JAAS file %s, section %s: %s needs an explicit principal (got %q)", path, section, e.Class, l.Principal)
		}
		return l, nil
	}
	return serviceLogin{}, fmt.Errorf("JAAS file %s, section %s: no Krb5LoginModule entry (only Kerberos is supported)", path, section)
}

// defaultRealm reads default_realm from the [libdefaults] section of a
// krb5.conf; "" when the file or the setting is missing.
func defaultRealm(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read krb5.conf: %w", err)
	}
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section = strings.TrimSpace(l[1 : len(l)-1])
			continue
		}
		if section != "libdefaults" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.TrimSpace(k) == "default_realm" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", nil
}
