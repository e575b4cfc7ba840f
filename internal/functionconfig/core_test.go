package functionconfig

import (
	"reflect"
	"testing"
)

// TestRulesNameRealFields: a field a kind's rules name must exist, or the
// core would silently treat the property as one the kind lacks.
func TestRulesNameRealFields(t *testing.T) {
	for _, k := range []struct {
		rules *kindRules
		cfg   any
	}{{functionRules, Function{}}, {sourceRules, Source{}}, {sinkRules, Sink{}}} {
		typ := reflect.TypeOf(k.cfg)
		for p, name := range k.rules.fields {
			if _, ok := typ.FieldByName(name); name != "" && !ok {
				t.Errorf("%s rules: property %d names %s, which %s lacks", k.rules.noun, p, name, typ.Name())
			}
		}
		for _, p := range k.rules.updateMerges {
			if !k.rules.view(reflect.New(typ).Interface()).has(p) {
				t.Errorf("%s rules: update merges property %d, which %s lacks", k.rules.noun, p, typ.Name())
			}
		}
	}
}
