// Package jackson reads and writes JSON the way the Java worker's Jackson and Gson do.
package jackson

// JSON as the Java worker reads and writes it. Three Java libraries meet in
// the functions API and each leaves its mark on the bytes:
//
//   - Jackson (Pulsar's ObjectMapperFactory) decodes the functionConfig part:
//     unknown properties are ignored, unknown enum names become null, scalars
//     are coerced ("3" -> 3, 1.9 -> 1, 5 -> "5", "TRUE" -> true), and it
//     encodes responses with nulls left out and doubles as Double.toString
//     prints them (1.0, 1.2345678901E10).
//   - Gson (new Gson()) writes userConfig, secrets and cryptoKeyReaderConfig
//     into FunctionDetails as JSON text: map entries whose value is null are
//     dropped, <>&=' are escaped as \u003c..., doubles again in Java form.
//   - Gson also reads that text back for GET: every number becomes a Double.
//
// We cannot reproduce Java's HashMap iteration order, so maps are written
// with sorted keys; everything else matches.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Double is a Java double: encoded the way Double.toString prints it.
type Double float64

func (d Double) MarshalJSON() ([]byte, error) {
	return []byte(JavaDouble(float64(d))), nil
}

// JavaDouble formats f like Java's Double.toString: plain decimal with at
// least one fraction digit for 1e-3 <= |f| < 1e7, else d.dddE<exp>.
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// Shortest digits that round-trip, as d.ddde±x.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	if f >= 1e-3 && f < 1e7 {
		var intPart, frac string
		if exp >= 0 {
			if len(digits) <= exp+1 {
				intPart, frac = digits+strings.Repeat("0", exp+1-len(digits)), "0"
			} else {
				intPart, frac = digits[:exp+1], digits[exp+1:]
			}
		} else {
			intPart, frac = "0", strings.Repeat("0", -exp-1)+digits
		}
		return sign + intPart + "." + frac
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	return sign + digits[:1] + "." + frac + "E" + strconv.Itoa(exp)
}

// DecodeValue parses JSON keeping numbers as json.Number.
func DecodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after JSON value")
	}
	return v, nil
}

// Numbers converts json.Numbers the way Jackson types them inside a
// Map<String, Object>: integers as int64 (or *big.Int), anything with a
// fraction or exponent as float64.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
			if b, ok := new(big.Int).SetString(s, 10); ok {
				return b
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Numbers(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = Numbers(e)
		}
		return l
	}
	return v
}

// gsonDoubles converts every json.Number to float64, as Gson does when it
// reads into Map<String, Object>.
func gsonDoubles(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = gsonDoubles(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = gsonDoubles(e)
		}
		return l
	}
	return v
}

// ParseGsonMap reads a Map<String, Object> that Gson wrote (userConfig,
// secretsMap, cryptoKeyReaderConfig), numbers as float64.
func ParseGsonMap(s string) (map[string]any, error) {
	v, err := DecodeValue([]byte(s))
	if err != nil {
		return nil, err
	}
	m, ok := gsonDoubles(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object: %.40q", s)
	}
	return m, nil
}

// Value prepares a value of a Map<String, Object> for encoding/json:
// float64 become jdouble so they print as Java doubles.
func Value(v any) any {
	switch x := v.(type) {
	case float64:
		return Double(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Value(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = Value(e)
		}
		return l
	}
	return v
}

// GsonField is one property of an object Gson writes by reflection, in
// declaration order.
type GsonField struct {
	Name  string
	Value any
}

// GsonObject is a Java bean as Gson writes it: fields in order, nulls left out.
type GsonObject []GsonField

// GsonJSON writes v the way new Gson().toJson does.
func GsonJSON(v any) string {
	var b strings.Builder
	writeGson(&b, v)
	return b.String()
}

func writeGson(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeGsonString(b, x)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		b.WriteString(JavaDouble(x))
	case Double:
		b.WriteString(JavaDouble(float64(x)))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeGson(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, e := range x {
			if e != nil {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeGsonString(b, k)
			b.WriteByte(':')
			writeGson(b, x[k])
		}
		b.WriteByte('}')
	case GsonObject:
		b.WriteByte('{')
		first := true
		for _, f := range x {
			if f.Value == nil {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeGsonString(b, f.Name)
			b.WriteByte(':')
			writeGson(b, f.Value)
		}
		b.WriteByte('}')
	default:
		// Not reached with values from decodeJSONValue; keep the output JSON.
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

// writeGsonString quotes s as Gson's JsonWriter does with HTML-safe escaping
// (Gson's default).
func writeGsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '<', '>', '&', '=', '\'', '\u2028', '\u2029':
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// Marshal encodes v for a response: like Jackson, no HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
