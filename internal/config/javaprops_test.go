package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// quoteJava renders s as the golden does: printable ASCII as is, the rest as \uXXXX.
func quoteJava(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestParsePropertiesAsJava: every key and value of the fixtures is what
// java.util.Properties.load (JDK 17, the loader Pulsar's broker uses) read
// from the same files; testdata/brokerconf/java-properties.golden is its
// output, not ours.
func TestParsePropertiesAsJava(t *testing.T) {
	var out strings.Builder
	for _, f := range []string{"tricky.properties", "eol.properties", "latin1.properties"} {
		data, err := os.ReadFile(filepath.Join("testdata", "brokerconf", f))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseProperties(f, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fmt.Fprintf(&out, "== %s\n", f)
		keys := p.Keys()
		slices.Sort(keys)
		for _, k := range keys {
			v, _, _ := p.Get(k)
			fmt.Fprintf(&out, "%s = %s\n", quoteJava(k), quoteJava(v))
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", "brokerconf", "java-properties.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("parsed differently from java.util.Properties:\n--- ours\n%s--- Java's\n%s", &out, want)
	}
}

func TestParsePropertiesLines(t *testing.T) {
	p, err := ParseProperties("b.conf", []byte("# c\n\na=1\nlong=x\\\n  y\nb:2\r\nc 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"a": 3, "long": 4, "b": 6, "c": 7} {
		if _, line, ok := p.Get(key); !ok || line != want {
			t.Errorf("%s: line %d (found %v), want %d", key, line, ok, want)
		}
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"short escape in value", "a=1\nclusterName=ab\\u12\n", `broker.conf:2: clusterName: malformed \uxxxx escape "\\u12"`},
		{"bad hex in value", "x=\\uzzzz1\n", `broker.conf:1: x: malformed \uxxxx escape "\\uzzzz"`},
		{"bad escape in key", "\n\nk\\u00g1=v\n", `broker.conf:3: k\u00g1: key: malformed \uxxxx escape "\\u00g1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProperties("broker.conf", []byte(tt.data))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want prefix %s", err, tt.want)
			}
		})
	}
}

func FuzzParseProperties(f *testing.F) {
	f.Add([]byte("a=b\\\n c\n\\u0041=\\t\n"))
	f.Add([]byte("x\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProperties("fuzz.conf", data)
		if err != nil {
			return
		}
		for _, k := range p.Keys() {
			if _, line, _ := p.Get(k); line < 1 {
				t.Fatalf("key %q at line %d", k, line)
			}
		}
	})
}
