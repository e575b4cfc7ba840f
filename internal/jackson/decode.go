package jackson

// Decoding JSON with Jackson's leniency: unknown properties ignored, unknown
// enum names null, scalars coerced as Pulsar's ObjectMapper coerces them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// --- Decoding with Jackson's leniency -------------------------------------

type Kind int

const (
	KindString Kind = iota
	KindInt
	KindLong
	KindDouble
	KindBool
	KindEnum
	KindStringList
	KindStringMap
	KindAnyMap
	KindObject
	KindObjectMap
)

// Prop describes one Java property for decoding.
type Prop struct {
	Kind Kind
	Enum []string
	Obj  *Schema
}

// Schema is the decodable shape of a Java config class: its
// properties and the values its no-argument constructor sets.
type Schema struct {
	Props    map[string]Prop
	Defaults map[string]any
}

// ErrBadJSON is a request body Jackson would not bind: the Java worker
// answers with a bare 400 Bad Request.
var ErrBadJSON = errors.New("Bad Request")

// Decode binds JSON text to out (a pointer to one of the config
// structs) the way Pulsar's Jackson ObjectMapper binds it to the Java class
// described by schema. The result of binding "null" is reported as isNull.
func Decode(data []byte, schema *Schema, out any) (isNull bool, err error) {
	v, err := DecodeValue(data)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	if v == nil {
		return true, nil
	}
	norm, err := normalizeObject(v, schema)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	b, err := json.Marshal(norm)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	// UseNumber keeps the literals of Map<String, Object> values, which
	// typedAnyMap needs to type them as Jackson did.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	return false, nil
}

func normalizeObject(v any, schema *Schema) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object, got %T", v)
	}
	out := make(map[string]any, len(m))
	for k, d := range schema.Defaults {
		out[k] = d
	}
	for k, e := range m {
		p, ok := schema.Props[k]
		if !ok {
			continue // FAIL_ON_UNKNOWN_PROPERTIES is off
		}
		n, err := normalize(e, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

func normalize(v any, p Prop) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch p.Kind {
	case KindString:
		return coerceString(v)
	case KindInt, KindLong:
		return coerceInteger(v, p.Kind == KindInt)
	case KindDouble:
		return coerceDouble(v)
	case KindBool:
		return coerceBool(v)
	case KindEnum:
		return CoerceEnum(v, p.Enum), nil
	case KindStringList:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array")
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			if e == nil {
				out = append(out, nil)
				continue
			}
			s, err := coerceString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case KindStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			if e == nil {
				continue // a null value cannot be carried over into protobuf maps
			}
			s, err := coerceString(e)
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	case KindAnyMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object")
		}
		return m, nil // numbers stay json.Number; jacksonNumbers types them
	case KindObject:
		return normalizeObject(v, p.Obj)
	case KindObjectMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			if e == nil {
				continue
			}
			o, err := normalizeObject(e, p.Obj)
			if err != nil {
				return nil, err
			}
			out[k] = o
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown kind %d", p.Kind)
}

func coerceString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return nil, fmt.Errorf("cannot coerce %T to String", v)
}

func coerceInteger(v any, int32Only bool) (any, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("cannot coerce %T to a number", v)
	}
	var n int64
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		n = i
	} else if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && strings.ContainsAny(s, ".eE") && f >= -9.2e18 && f <= 9.2e18 {
		n = int64(f) // ACCEPT_FLOAT_AS_INT truncates
	} else {
		return nil, fmt.Errorf("not an integer: %q", s)
	}
	if int32Only && (n < -1<<31 || n > 1<<31-1) {
		return nil, fmt.Errorf("numeric value %d out of range of int", n)
	}
	return n, nil
}

func coerceDouble(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("cannot coerce %T to Double", v)
}

func coerceBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.TrimSpace(x) {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		case "":
			return nil, nil
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i != 0, nil
		}
	}
	return nil, fmt.Errorf("cannot coerce %v to Boolean", v)
}

// CoerceEnum maps a JSON value to an enum constant name; unknown names and
// ordinals become null (READ_UNKNOWN_ENUM_VALUES_AS_NULL).
func CoerceEnum(v any, values []string) any {
	switch x := v.(type) {
	case string:
		for _, e := range values {
			if e == x {
				return e
			}
		}
	case json.Number:
		if i, err := strconv.Atoi(string(x)); err == nil && i >= 0 && i < len(values) {
			return values[i]
		}
	}
	return nil
}
