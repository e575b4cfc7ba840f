package functionconfig

// The config classes' Jackson shapes, read off the Go structs: a
// property's kind from its Go type, an enum's names from its `enum` tag,
// and what Java's no-argument constructor sets from schemaDefaults.

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
)

// enums are Java's enum names, in declaration order (Jackson accepts their
// ordinals), by the name an `enum` tag gives.
var enums = map[string][]string{
	"guarantees":       enumGuarantees,
	"windowGuarantees": enumWindowGuarantees,
	"runtime":          enumRuntime,
	"position":         enumPosition,
	"compression":      enumCompression,
	"producerCrypto":   enumProducerCrypto,
	"consumerCrypto":   enumConsumerCrypto,
}

// schemaDefaults are the values the classes' constructors set.
var schemaDefaults = map[reflect.Type]map[string]any{
	reflect.TypeFor[consumerConfig](): {"schemaProperties": map[string]any{}, "consumerProperties": map[string]any{}},
	reflect.TypeFor[resourcesConfig](): {
		"cpu": json.Number("1.0"), "ram": json.Number(strconv.Itoa(defaultRAM)), "disk": json.Number(strconv.Itoa(defaultDisk)),
	},
	reflect.TypeFor[Function](): {"subscriptionPosition": "Latest"},
	reflect.TypeFor[Sink]():     {"sourceSubscriptionPosition": "Latest"},
}

var (
	consumerSchema       = schemaOf(reflect.TypeFor[consumerConfig]())
	batchSourceSchema    = schemaOf(reflect.TypeFor[batchSourceConfig]())
	functionConfigSchema = schemaOf(reflect.TypeFor[Function]())
	sourceConfigSchema   = schemaOf(reflect.TypeFor[Source]())
	sinkConfigSchema     = schemaOf(reflect.TypeFor[Sink]())
)

var (
	doubleType = reflect.TypeFor[jackson.Double]()
	stringType = reflect.TypeFor[string]()
)

// schemaOf is the Jackson shape of the config struct t.
func schemaOf(t reflect.Type) *jackson.Schema {
	s := &jackson.Schema{Props: map[string]jackson.Prop{}, Defaults: schemaDefaults[t]}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		s.Props[name] = propOf(f)
	}
	return s
}

func propOf(f reflect.StructField) jackson.Prop {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if e, ok := f.Tag.Lookup("enum"); ok {
		return jackson.Prop{Kind: jackson.KindEnum, Enum: enums[e]}
	}
	switch {
	case t == doubleType:
		return jackson.Prop{Kind: jackson.KindDouble}
	case t.Kind() == reflect.String:
		return jackson.Prop{Kind: jackson.KindString}
	case t.Kind() == reflect.Bool:
		return jackson.Prop{Kind: jackson.KindBool}
	case t.Kind() == reflect.Int32:
		return jackson.Prop{Kind: jackson.KindInt}
	case t.Kind() == reflect.Int64:
		return jackson.Prop{Kind: jackson.KindLong}
	case t.Kind() == reflect.Slice:
		return jackson.Prop{Kind: jackson.KindStringList}
	case t.Kind() == reflect.Struct:
		return jackson.Prop{Kind: jackson.KindObject, Obj: schemaOf(t)}
	case t.Kind() == reflect.Map && t.Elem() == stringType:
		return jackson.Prop{Kind: jackson.KindStringMap}
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Pointer:
		return jackson.Prop{Kind: jackson.KindObjectMap, Obj: schemaOf(t.Elem().Elem())}
	case t.Kind() == reflect.Map:
		return jackson.Prop{Kind: jackson.KindAnyMap}
	}
	panic("functionconfig: no Jackson kind for " + f.Name + " " + f.Type.String())
}

// parse binds a config part with the schema of T. A missing, empty or
// "null" part gives (nil, nil).
func parse[T any](data []byte, schema *jackson.Schema) (*T, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	out := new(T)
	isNull, err := jackson.Decode(data, schema, out)
	if err != nil || isNull {
		return nil, err
	}
	typeMaps(reflect.ValueOf(out))
	return out, nil
}

// typeMaps types every Map<String, Object> in v the way Jackson types it.
func typeMaps(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			typeMaps(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			typeMaps(v.Field(i))
		}
	case reflect.Map:
		if m, ok := v.Interface().(map[string]any); ok {
			if m != nil {
				v.Set(reflect.ValueOf(typedAnyMap(m)))
			}
			return
		}
		for _, k := range v.MapKeys() {
			typeMaps(v.MapIndex(k))
		}
	}
}
