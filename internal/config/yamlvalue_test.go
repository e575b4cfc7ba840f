package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// propertiesFile is a config whose properties: block has n entries.
func propertiesFile(n int) []byte {
	var b strings.Builder
	b.WriteString("logLevel: info\nproperties:\n")
	for i := range n {
		fmt.Fprintf(&b, "  client.key%06d: value%d\n", i, i)
	}
	return []byte(b.String())
}

// TestBuildValueMatchesYAML: the linear converter gives what yaml.v3's decoder
// (koanf's parser before) gave, with keys made strings as koanf made them.
func TestBuildValueMatchesYAML(t *testing.T) {
	docs := []string{
		"a: 1\nb: 1.5\nc: true\nd: ~\ne: text\nf: '1'\ng: 0x10\nh: 1e3\ni: .inf\nj: 2024-01-02\nk: 2024-01-02T03:04:05Z\n",
		"list: [1, two, 3.0, null, {x: y}]\nnested: {a: {b: {c: [1]}}}\n",
		"1: int key\ntrue: bool key\n1.5: float key\n~: null key\n",
		"base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n",
		"a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n",
		"anchor: &s hello\nuse: *s\nlist: &l [1, 2]\nuse2: *l\n",
		"bin: !!binary aGVsbG8=\nstr: !!str 12\nint: !!int '7'\n",
		"empty: {}\nemptylist: []\nblank:\n",
	}
	for _, doc := range docs {
		var want map[string]any
		if err := yaml.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatalf("yaml.Unmarshal(%q): %v", doc, err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		got, err := buildValue(context.Background(), "t.yml", &n)
		if err != nil {
			t.Fatalf("buildValue(%q): %v", doc, err)
		}
		if w := stringKeys(want); !reflect.DeepEqual(got, w) {
			t.Errorf("buildValue(%q)\n got %#v\nwant %#v", doc, got, w)
		}
	}
}

// stringKeys makes every mapping map[string]any with fmt's rendering of the key,
// as koanf's maps.IntfaceKeysToStrings does.
func stringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = stringKeys(e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stringKeys(e)
		}
		return out
	}
	return v
}

// aliasBomb nests levels of fan aliases over a leaf list of width scalars: it
// expands to about width*fan^levels values.
func aliasBomb(width, fan, levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [")
	for i := range width {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "x%d", i)
	}
	b.WriteString("]\n")
	for l := 1; l <= levels; l++ {
		fmt.Fprintf(&b, "l%d: &l%d [", l, l)
		for i := range fan {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", l-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestLoadRefusesOversizedInput(t *testing.T) {
	huge := append(propertiesFile(10), []byte("# "+strings.Repeat("x", MaxFileBytes)+"\n")...)
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"wide alias bomb", aliasBomb(1000, 10, 3), "bomb.yml:4: the file expands to more than 500000 values"},
		{"classic billion laughs", aliasBomb(9, 9, 9), "the file expands to more than 500000 values"},
		{"alias inside itself", "a: &a [1, *a]\n", "bomb.yml:1: anchor \"a\" value contains itself"},
		{"file over the size limit", string(huge), fmt.Sprintf("bomb.yml:13: the file is %d bytes, over the limit of %d", len(huge), MaxFileBytes)},
		{"duplicate key", "properties:\n  a: 1\n  b: 2\n  a: 3\n", `bomb.yml:4: mapping key "a" already defined at line 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := LoadBytes("bomb.yml", []byte(tc.doc), nil)
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadBytes = %v, want a *SyntaxError containing %q", err, tc.want)
			}
			t.Logf("refused in %v: %v", time.Since(start), err)
		})
	}
}

// TestLoadLargeMappingIsLinear: 100k properties load in about a second; yaml.v3's
// decoder compared every pair of keys (20k: over a minute in the field) and took
// minutes here.
func TestLoadLargeMappingIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 3 MB file")
	}
	data := propertiesFile(100_000)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		cfg, probs, err := LoadBytes("big.yml", data, nil)
		if err == nil && len(cfg.Properties) != 100_000 {
			err = fmt.Errorf("%d properties, want 100000 (%v)", len(cfg.Properties), probs)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("100000 properties (%d bytes) loaded in %v", len(data), time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("loading 100000 properties took over 15s")
	}
}

// TestLoadContextCancelled: a cancelled load stops with the context's error,
// so a superseded reload or a shutdown does not wait for it.
func TestLoadContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := LoadBytesContext(ctx, "big.yml", propertiesFile(50_000), nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "big.yml") {
		t.Fatalf("LoadBytesContext with a cancelled context = %v, want context.Canceled naming the file", err)
	}
}

// BenchmarkLoadProperties prints decode times by size: 200k entries (5 MB) is
// over MaxFileBytes and measures the refusal.
func BenchmarkLoadProperties(b *testing.B) {
	for _, n := range []int{5_000, 20_000, 100_000, 200_000} {
		data := propertiesFile(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _, err := LoadBytes("big.yml", data, nil)
				if err != nil && n <= 100_000 {
					b.Fatal(err)
				}
			}
		})
	}
}
