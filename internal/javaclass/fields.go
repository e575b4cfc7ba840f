package javaclass

// The config field definitions of a built-in connector (GET
// .../builtinsources/{name}/configdefinition), read from the config class's
// class file as Java's ConnectorUtils.getConnectorConfigDefinition reads
// them by reflection: every non-static field of the class and then of its
// super classes, with the values of its @FieldDoc annotation.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

const fieldDocAnnotation = "Lorg/apache/pulsar/io/core/annotations/FieldDoc;"

// fieldDocAttributes are FieldDoc's methods with their defaults, in the
// order Java's HashMap of the attributes iterates (and Jackson writes) them.
var fieldDocAttributes = []struct{ name, def string }{
	{"help", ""}, {"defaultValue", ""}, {"sensitive", "false"}, {"required", "false"},
}

// ConfigFieldDefinition is Java's org.apache.pulsar.common.io.ConfigFieldDefinition.
type ConfigFieldDefinition struct {
	FieldName  string          `json:"fieldName"`
	TypeName   string          `json:"typeName"`
	Attributes fieldAttributes `json:"attributes"`
}

// fieldAttributes is the attributes map of a ConfigFieldDefinition, written
// in Java's order.
type fieldAttributes []struct{ key, value string }

func (a fieldAttributes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.key)
		v, _ := json.Marshal(kv.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// classField is a field of a class file.
type classField struct {
	name       string
	descriptor string
	signature  string // generic Signature attribute, if any
	static     bool
	fieldDoc   map[string]string // nil when the field has no @FieldDoc
}

// classFields reads a class file's super class and fields.
func classFields(data []byte) (super string, fields []classField, err error) {
	r := &classReader{b: data}
	if r.u4() != 0xCAFEBABE {
		return "", nil, fmt.Errorf("not a class file")
	}
	r.skip(4)
	n := int(r.u2())
	utf8s := map[int]string{}
	classes := map[int]int{}
	ints := map[int]int32{}
	for i := 1; i < n && r.err == nil; i++ {
		switch tag := r.u1(); tag {
		case 1:
			utf8s[i] = string(r.bytes(int(r.u2())))
		case 7:
			classes[i] = int(r.u2())
		case 3:
			ints[i] = int32(r.u4())
		case 8, 16, 19, 20:
			r.skip(2)
		case 15:
			r.skip(3)
		case 4, 9, 10, 11, 12, 17, 18:
			r.skip(4)
		case 5, 6:
			r.skip(8)
			i++
		default:
			return "", nil, fmt.Errorf("bad constant pool tag %d", tag)
		}
	}
	r.skip(4) // access, this
	if idx := int(r.u2()); idx != 0 {
		super = strings.ReplaceAll(utf8s[classes[idx]], "/", ".")
	}
	r.skip(2 * int(r.u2()))
	// elementValue reads one annotation element value as Java's toString of it.
	var elementValue func() string
	var skipAnnotation func()
	elementValue = func() string {
		switch tag := r.u1(); tag {
		case 'Z':
			if ints[int(r.u2())] != 0 {
				return "true"
			}
			return "false"
		case 'B', 'C', 'I', 'S':
			return strconv.Itoa(int(ints[int(r.u2())]))
		case 'D', 'F', 'J':
			r.skip(2)
			return ""
		case 's':
			return utf8s[int(r.u2())]
		case 'e':
			r.skip(2)
			return utf8s[int(r.u2())]
		case 'c':
			r.skip(2)
			return ""
		case '@':
			skipAnnotation()
			return ""
		case '[':
			for i, c := 0, int(r.u2()); i < c && r.err == nil; i++ {
				elementValue()
			}
			return ""
		default:
			r.err = fmt.Errorf("bad element value tag %q", tag)
			return ""
		}
	}
	skipAnnotation = func() {
		r.skip(2)
		for i, c := 0, int(r.u2()); i < c && r.err == nil; i++ {
			r.skip(2)
			elementValue()
		}
	}
	for i, c := 0, int(r.u2()); i < c && r.err == nil; i++ {
		access := r.u2()
		f := classField{name: utf8s[int(r.u2())], descriptor: utf8s[int(r.u2())], static: access&0x0008 != 0}
		for j, a := 0, int(r.u2()); j < a && r.err == nil; j++ {
			attr := utf8s[int(r.u2())]
			l := int(r.u4())
			if attr == "Signature" && l == 2 {
				f.signature = utf8s[int(r.u2())]
				continue
			}
			if attr != "RuntimeVisibleAnnotations" {
				r.skip(l)
				continue
			}
			for k, na := 0, int(r.u2()); k < na && r.err == nil; k++ {
				typ := utf8s[int(r.u2())]
				values := map[string]string{}
				for e, ne := 0, int(r.u2()); e < ne && r.err == nil; e++ {
					name := utf8s[int(r.u2())]
					values[name] = elementValue()
				}
				if typ == fieldDocAnnotation {
					f.fieldDoc = values
				}
			}
		}
		fields = append(fields, f)
	}
	return super, fields, r.err
}

// fieldTypeName is ByteBuddy's getActualName of a field's generic type, as
// Java's ConnectorUtils names it: the binary class name with its type
// arguments ("java.util.List<java.lang.String>"), "[]" for arrays.
func (f classField) fieldTypeName() string {
	sig := f.signature
	if sig == "" {
		sig = f.descriptor
	}
	p := &sigParser{s: sig}
	t := p.javaType()
	if p.err != nil || t == nil {
		return strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(f.descriptor, "L"), ";"), "/", ".")
	}
	return actualName(t)
}

var primitiveNames = map[string]string{
	"Z": "boolean", "B": "byte", "C": "char", "S": "short", "I": "int", "J": "long", "F": "float", "D": "double", "V": "void",
}

func actualName(t *jtype) string {
	switch t.kind {
	case 'P':
		return primitiveNames[t.name]
	case '[':
		return actualName(t.elem) + "[]"
	case 'T':
		return t.name
	case '*':
		if t.bound != nil {
			return "? extends " + actualName(t.bound)
		}
		return "?"
	}
	if len(t.args) == 0 {
		return t.name
	}
	args := make([]string, len(t.args))
	for i, a := range t.args {
		args[i] = actualName(a)
	}
	return t.name + "<" + strings.Join(args, ", ") + ">"
}

// classBytes returns the class file of a class in the package; nil when the
// package does not have it.
func (p *Package) classBytes(name string) []byte {
	return p.scanClass(name, func([]byte) bool { return true })
}

// FieldDefinitions lists the config class's fields as Java does.
func FieldDefinitions(narPath, class string) ([]ConfigFieldDefinition, error) {
	pkg, closer, err := Open(narPath)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	out := []ConfigFieldDefinition{}
	for c, depth := class, 0; c != "" && c != "java.lang.Object" && depth < 32; depth++ {
		data := pkg.classBytes(c)
		if data == nil {
			if c == class {
				return nil, fmt.Errorf("config class %s not found in %s", class, narPath)
			}
			break // a JDK or worker class: Java's would add its fields too
		}
		super, fields, err := classFields(data)
		if err != nil {
			return nil, fmt.Errorf("read class %s: %w", c, err)
		}
		for _, f := range fields {
			if f.static {
				continue
			}
			d := ConfigFieldDefinition{FieldName: f.name, TypeName: f.fieldTypeName(), Attributes: fieldAttributes{}}
			if f.fieldDoc != nil {
				for _, a := range fieldDocAttributes {
					v, ok := f.fieldDoc[a.name]
					if !ok {
						v = a.def
					}
					d.Attributes = append(d.Attributes, struct{ key, value string }{a.name, v})
				}
			}
			out = append(out, d)
		}
		c = super
	}
	return out, nil
}
