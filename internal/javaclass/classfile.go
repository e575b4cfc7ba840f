// Package javaclass reads Java class files, generic signatures and jar/NAR
// packages for the checks the Java worker makes with ByteBuddy: no JVM.
package javaclass

// The Java worker checks a Java function against its package before storing
// it (FunctionConfigUtils.doJavaChecks): it looks the class up with a
// ByteBuddy TypePool over the jar or NAR (plus the worker's own classpath),
// requires it to implement org.apache.pulsar.functions.api.Function,
// java.util.function.Function or WindowFunction, and records the input and
// output type arguments as source.typeClassName / sink.typeClassName, which
// the Java instance later loads to pick its schemas. We do the same by
// reading the class files ourselves: no JVM, no class loading.
//
// What this reads: class files of the jar, or of a NAR's root and its
// META-INF/bundled-dependencies/*.jar; generic signatures (so
// "extends Base<Long>" resolves T), sub-interfaces, Record<T> and
// CompletableFuture<T> unwrapping, window functions over Collection<T>, and
// Java's own error messages for the failure cases (including the ones that
// come from ByteBuddy or a NullPointerException in 4.0.8).
//
// What we skip, because Java would need the worker's classpath or class
// loading to decide:
//   - classes that are only on the worker's classpath are known only for a
//     few well-known JDK and Pulsar types (wellKnownClasses); when a class's
//     hierarchy runs into another unknown class we accept the function
//     without type names instead of guessing (logged);
//   - custom serde, schema and CryptoKeyReader classes (customSerdeInputs,
//     inputSpecs serdeClassName/schemaType, outputSerdeClassName,
//     outputSchemaType, cryptoConfig) are not checked for existence, for the
//     interface they must implement, or for a matching type argument;
//   - the runtime factory's admission checks (doAdmissionChecks) and the
//     function auth provider (Kubernetes only) are not run.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

const (
	PulsarFunction = "org.apache.pulsar.functions.api.Function"
	JavaFunction   = "java.util.function.Function"
	WindowFunction = "org.apache.pulsar.functions.api.WindowFunction"
	pulsarRecord   = "org.apache.pulsar.functions.api.Record"
	futureClass    = "java.util.concurrent.CompletableFuture"
	collectionType = "java.util.Collection"
	objectClass    = "java.lang.Object"
	narServiceFile = "META-INF/services/pulsar-io.yaml"
	narBundledDir  = "META-INF/bundled-dependencies"

	// What Java 17 says when resolveInterfaceTypeArguments finds nothing.
	msgNoTypeArgs = `Cannot invoke "net.bytebuddy.description.type.TypeList$Generic.get(int)" because "typeArgsList" is null`
)

// wellKnownClasses are the classes of the worker's classpath that matter for
// the checks, by binary name -> "interface"/"class" + generic signature.
var wellKnownClasses = map[string][2]string{
	objectClass:                            {"class", ""},
	PulsarFunction:                         {"interface", "<I:Ljava/lang/Object;O:Ljava/lang/Object;>Ljava/lang/Object;"},
	JavaFunction:                           {"interface", "<T:Ljava/lang/Object;R:Ljava/lang/Object;>Ljava/lang/Object;"},
	WindowFunction:                         {"interface", "<T:Ljava/lang/Object;X:Ljava/lang/Object;>Ljava/lang/Object;"},
	pulsarRecord:                           {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	futureClass:                            {"class", "<T:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/concurrent/Future<TT;>;Ljava/util/concurrent/CompletionStage<TT;>;"},
	"java.util.concurrent.Future":          {"interface", "<V:Ljava/lang/Object;>Ljava/lang/Object;"},
	"java.util.concurrent.CompletionStage": {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	"java.lang.Iterable":                   {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	collectionType:                         {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/lang/Iterable<TE;>;"},
	"java.util.List":                       {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Collection<TE;>;"},
	"java.util.Set":                        {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Collection<TE;>;"},
	"java.util.SortedSet":                  {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Set<TE;>;"},
	"java.util.NavigableSet":               {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/SortedSet<TE;>;"},
	"java.util.Queue":                      {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Collection<TE;>;"},
	"java.util.Deque":                      {"interface", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Queue<TE;>;"},
	"java.util.AbstractCollection":         {"class", "<E:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/Collection<TE;>;"},
	"java.util.AbstractList":               {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractCollection<TE;>;Ljava/util/List<TE;>;"},
	"java.util.AbstractSet":                {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractCollection<TE;>;Ljava/util/Set<TE;>;"},
	"java.util.ArrayList":                  {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractList<TE;>;Ljava/util/List<TE;>;"},
	"java.util.LinkedList":                 {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractList<TE;>;Ljava/util/List<TE;>;Ljava/util/Deque<TE;>;"},
	"java.util.HashSet":                    {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractSet<TE;>;Ljava/util/Set<TE;>;"},
	"java.util.LinkedHashSet":              {"class", "<E:Ljava/lang/Object;>Ljava/util/HashSet<TE;>;Ljava/util/Set<TE;>;"},
	"java.util.TreeSet":                    {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractSet<TE;>;Ljava/util/NavigableSet<TE;>;"},
	"java.util.ArrayDeque":                 {"class", "<E:Ljava/lang/Object;>Ljava/util/AbstractCollection<TE;>;Ljava/util/Deque<TE;>;"},
	"java.util.function.UnaryOperator":     {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;Ljava/util/function/Function<TT;TT;>;"},
	// Pulsar interfaces functions' helper classes implement, known not to be functions.
	"org.apache.pulsar.functions.api.SerDe":         {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	"org.apache.pulsar.functions.api.Context":       {"interface", ""},
	"org.apache.pulsar.functions.api.WindowContext": {"interface", ""},
	"org.apache.pulsar.client.api.CryptoKeyReader":  {"interface", ""},
	"org.apache.pulsar.client.api.Schema":           {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	"org.apache.pulsar.io.core.Source":              {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	"org.apache.pulsar.io.core.Sink":                {"interface", "<T:Ljava/lang/Object;>Ljava/lang/Object;"},
	"org.apache.pulsar.functions.api.utils.IdentityFunction": {"class",
		"Ljava/lang/Object;Lorg/apache/pulsar/functions/api/Function<Ljava/lang/Object;Ljava/lang/Object;>;"},
}

// jtype is a generic Java type as a class signature spells it.
type jtype struct {
	kind  byte     // 'L' class, 'T' type variable, '[' array, 'P' primitive, '*' wildcard
	name  string   // binary class name (a.b.C$D), variable name, or primitive descriptor
	args  []*jtype // type arguments of a class type; nil for a raw or non-generic type
	elem  *jtype   // array component
	bound *jtype   // type variable or wildcard: its erasure bound (nil = Object)
}

type typeParam struct {
	name  string
	bound *jtype
}

// ClassInfo is what the checks need from one class file.
type ClassInfo struct {
	name        string
	isInterface bool
	params      []typeParam
	super       *jtype // nil for interfaces and java.lang.Object
	interfaces  []*jtype
}

// Package looks classes up in a jar or NAR.
type Package struct {
	readers    []*zip.Reader
	nested     []*zip.File // bundled jars not opened yet
	IsNar      bool
	Definition Definition // a NAR's pulsar-io.yaml
	classes    map[string]*ClassInfo
	// Incomplete is set when a hierarchy walk met a class we know nothing
	// about: our "no" answers are then not Java's.
	Incomplete bool
	Unknown    string
}

// Open opens the package file for class lookups; the caller
// closes the returned closer.
func Open(file string) (*Package, io.Closer, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return nil, nil, errors.New("java.util.zip.ZipException: zip END header not found")
		}
		return nil, nil, err
	}
	p := &Package{readers: []*zip.Reader{&zr.Reader}, classes: map[string]*ClassInfo{}}
	for _, f := range zr.File {
		switch {
		case f.Name == narServiceFile:
			p.IsNar = true
			if def, err := readDefinition(f); err == nil {
				p.Definition = def
			}
		case strings.HasPrefix(f.Name, narBundledDir):
			p.IsNar = true
			if path.Dir(f.Name) == narBundledDir && strings.HasSuffix(f.Name, ".jar") {
				p.nested = append(p.nested, f)
			}
		}
	}
	return p, zr, nil
}

// Definition is what the checks need of a NAR's pulsar-io.yaml: the
// class a function, source or sink runs when the config names none.
type Definition struct {
	FunctionClass string `yaml:"functionClass"`
	SourceClass   string `yaml:"sourceClass"`
	SinkClass     string `yaml:"sinkClass"`
}

func readDefinition(f *zip.File) (Definition, error) {
	var def Definition
	rc, err := f.Open()
	if err != nil {
		return def, err
	}
	defer rc.Close()
	if err := yaml.NewDecoder(rc).Decode(&def); err != nil {
		return Definition{}, err
	}
	return def, nil
}

// Lookup finds a class by binary name: in the package, then among the
// well-known classes of the worker's classpath. nil when neither has it.
func (p *Package) Lookup(name string) *ClassInfo {
	if ci, ok := p.classes[name]; ok {
		return ci
	}
	ci := p.find(name)
	if ci == nil {
		if wk, ok := wellKnownClasses[name]; ok {
			ci, _ = newClassInfo(name, wk[0] == "interface", "", nil, wk[1])
		}
	}
	p.classes[name] = ci
	return ci
}

func (p *Package) find(name string) *ClassInfo {
	var ci *ClassInfo
	p.scanClass(name, func(data []byte) bool {
		c, err := parseClassFile(data)
		if err == nil && c.name == name {
			ci = c
			return true
		}
		return false
	})
	return ci
}

// scanClass reads the class file of name from each jar of the package in
// turn (opening bundled jars as it goes) until accept takes one, and returns
// it; nil when none does.
func (p *Package) scanClass(name string, accept func([]byte) bool) []byte {
	entry := strings.ReplaceAll(name, ".", "/") + ".class"
	for i := 0; ; i++ {
		for i >= len(p.readers) { // open the next bundled jar
			if len(p.nested) == 0 {
				return nil
			}
			f := p.nested[0]
			p.nested = p.nested[1:]
			if zr, err := openNested(f); err == nil {
				p.readers = append(p.readers, zr)
			}
		}
		f, err := p.readers[i].Open(entry)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err == nil && accept(data) {
			return data
		}
	}
}

func openNested(f *zip.File) (*zip.Reader, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return zip.NewReader(bytes.NewReader(data), int64(len(data)))
}

// --- class files ----------------------------------------------------------

// parseClassFile reads the header of a class file: name, flags, supertypes
// and the class's generic Signature attribute.
func parseClassFile(data []byte) (*ClassInfo, error) {
	r := &classReader{b: data}
	if r.u4() != 0xCAFEBABE {
		return nil, errors.New("not a class file")
	}
	r.skip(4) // minor, major
	n := int(r.u2())
	utf8s := make(map[int]string)
	classes := make(map[int]int)
	for i := 1; i < n && r.err == nil; i++ {
		tag := r.u1()
		switch tag {
		case 1:
			l := int(r.u2())
			utf8s[i] = string(r.bytes(l))
		case 7:
			classes[i] = int(r.u2())
		case 8, 16, 19, 20:
			r.skip(2)
		case 15:
			r.skip(3)
		case 3, 4, 9, 10, 11, 12, 17, 18:
			r.skip(4)
		case 5, 6:
			r.skip(8)
			i++
		default:
			return nil, fmt.Errorf("bad constant pool tag %d", tag)
		}
	}
	className := func(idx int) string {
		return strings.ReplaceAll(utf8s[classes[idx]], "/", ".")
	}
	access := r.u2()
	name := className(int(r.u2()))
	superIdx := int(r.u2())
	var rawSuper string
	if superIdx != 0 {
		rawSuper = className(superIdx)
	}
	var rawIfaces []string
	for i, c := 0, int(r.u2()); i < c; i++ {
		rawIfaces = append(rawIfaces, className(int(r.u2())))
	}
	for part := 0; part < 2; part++ { // fields, methods
		for i, c := 0, int(r.u2()); i < c && r.err == nil; i++ {
			r.skip(6)
			for j, a := 0, int(r.u2()); j < a && r.err == nil; j++ {
				r.skip(2)
				r.skip(int(r.u4()))
			}
		}
	}
	var signature string
	for i, c := 0, int(r.u2()); i < c && r.err == nil; i++ {
		attr := utf8s[int(r.u2())]
		l := int(r.u4())
		if attr == "Signature" && l == 2 {
			signature = utf8s[int(r.u2())]
		} else {
			r.skip(l)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return newClassInfo(name, access&0x0200 != 0, rawSuper, rawIfaces, signature)
}

type classReader struct {
	b   []byte
	err error
}

func (r *classReader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
func (r *classReader) skip(n int) { r.bytes(n) }
func (r *classReader) u1() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}
func (r *classReader) u2() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}
func (r *classReader) u4() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// newClassInfo builds the class from its generic signature when it has one,
// else from the raw super class and interfaces.
func newClassInfo(name string, isInterface bool, rawSuper string, rawIfaces []string, signature string) (*ClassInfo, error) {
	ci := &ClassInfo{name: name, isInterface: isInterface}
	if signature != "" || rawSuper == "" && rawIfaces == nil {
		if signature != "" {
			sp := &sigParser{s: signature}
			ci.params = sp.typeParams()
			if sp.peek() != 0 {
				ci.super = sp.referenceType()
			}
			for sp.peek() != 0 && sp.err == nil {
				ci.interfaces = append(ci.interfaces, sp.referenceType())
			}
			if sp.err != nil {
				return nil, sp.err
			}
		}
	} else {
		if rawSuper != "" {
			ci.super = &jtype{kind: 'L', name: rawSuper}
		}
		for _, i := range rawIfaces {
			ci.interfaces = append(ci.interfaces, &jtype{kind: 'L', name: i})
		}
	}
	if isInterface || name == objectClass {
		ci.super = nil // ByteBuddy: interfaces have no super class
	}
	// Give references to the class's own type variables their bounds, for
	// erasure.
	bounds := map[string]*jtype{}
	for _, tp := range ci.params {
		bounds[tp.name] = tp.bound
	}
	var attach func(t *jtype)
	attach = func(t *jtype) {
		if t == nil {
			return
		}
		if t.kind == 'T' && t.bound == nil {
			t.bound = bounds[t.name]
		}
		attach(t.elem)
		for _, a := range t.args {
			attach(a)
		}
		if t.kind == '*' {
			attach(t.bound)
		}
	}
	attach(ci.super)
	for _, i := range ci.interfaces {
		attach(i)
	}
	return ci, nil
}

// sigParser reads JVMS 4.7.9.1 class signatures.
type sigParser struct {
	s   string
	i   int
	err error
}

func (p *sigParser) peek() byte {
	if p.err != nil || p.i >= len(p.s) {
		return 0
	}
	return p.s[p.i]
}

func (p *sigParser) next() byte {
	c := p.peek()
	if c == 0 {
		if p.err == nil {
			p.err = fmt.Errorf("truncated signature %q", p.s)
		}
		return 0
	}
	p.i++
	return c
}

func (p *sigParser) ident(stops string) string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(stops, rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *sigParser) typeParams() []typeParam {
	if p.peek() != '<' {
		return nil
	}
	p.next()
	var out []typeParam
	for p.peek() != '>' && p.err == nil {
		tp := typeParam{name: p.ident(":")}
		p.next() // ':' class bound
		if c := p.peek(); c == 'L' || c == 'T' || c == '[' {
			tp.bound = p.referenceType()
		}
		for p.peek() == ':' { // interface bounds
			p.next()
			b := p.referenceType()
			if tp.bound == nil {
				tp.bound = b
			}
		}
		out = append(out, tp)
	}
	p.next()
	return out
}

func (p *sigParser) referenceType() *jtype {
	switch c := p.next(); c {
	case 'L':
		t := &jtype{kind: 'L'}
		var name strings.Builder
		for {
			name.WriteString(strings.ReplaceAll(p.ident("<.;"), "/", "."))
			t.args = nil
			if p.peek() == '<' {
				p.next()
				t.args = []*jtype{}
				for p.peek() != '>' && p.err == nil {
					t.args = append(t.args, p.typeArgument())
				}
				p.next()
			}
			if p.peek() == '.' { // inner class of a parameterized outer
				p.next()
				name.WriteByte('$')
				continue
			}
			break
		}
		p.next() // ';'
		t.name = name.String()
		return t
	case 'T':
		t := &jtype{kind: 'T', name: p.ident(";")}
		p.next()
		return t
	case '[':
		return &jtype{kind: '[', elem: p.javaType()}
	default:
		if p.err == nil {
			p.err = fmt.Errorf("bad signature %q at %d", p.s, p.i-1)
		}
		return &jtype{kind: 'L', name: objectClass}
	}
}

func (p *sigParser) javaType() *jtype {
	if c := p.peek(); strings.IndexByte("BCDFIJSZ", c) >= 0 && c != 0 {
		p.next()
		return &jtype{kind: 'P', name: string(c)}
	}
	return p.referenceType()
}

func (p *sigParser) typeArgument() *jtype {
	switch p.peek() {
	case '*':
		p.next()
		return &jtype{kind: '*'}
	case '+':
		p.next()
		return &jtype{kind: '*', bound: p.referenceType()}
	case '-':
		p.next()
		p.referenceType()
		return &jtype{kind: '*'}
	}
	return p.referenceType()
}

// --- types ----------------------------------------------------------------

// erasure is the binary name of t's erasure, as TypeDescription.getName.
func erasure(t *jtype) string {
	for depth := 0; t != nil && depth < 32; depth++ {
		switch t.kind {
		case 'L':
			return t.name
		case 'P':
			return t.name
		case '[':
			return "[" + descriptor(t.elem)
		default: // type variable, wildcard
			t = t.bound
		}
	}
	return objectClass
}

func descriptor(t *jtype) string {
	switch e := erasure(t); {
	case t != nil && t.kind == 'P':
		return e
	case strings.HasPrefix(e, "["):
		return e
	default:
		return "L" + e + ";"
	}
}

// subst replaces type variables bound in env.
func subst(t *jtype, env map[string]*jtype) *jtype {
	if t == nil || env == nil {
		return t
	}
	switch t.kind {
	case 'T':
		if v, ok := env[t.name]; ok {
			return v
		}
		return t
	case 'L':
		if t.args == nil {
			return t
		}
		c := *t
		c.args = make([]*jtype, len(t.args))
		for i, a := range t.args {
			c.args[i] = subst(a, env)
		}
		return &c
	case '[':
		c := *t
		c.elem = subst(t.elem, env)
		return &c
	case '*':
		c := *t
		c.bound = subst(t.bound, env)
		return &c
	}
	return t
}

// supertypes returns the super class and interfaces of the class type t,
// with t's type arguments substituted; a raw t gives raw supertypes.
func (p *Package) supertypes(t *jtype, declared bool) (super *jtype, ifaces []*jtype, ok bool) {
	ci := p.Lookup(t.name)
	if ci == nil {
		// A JDK class we do not list does not lead to a Pulsar function
		// interface (UnaryOperator, the one JDK sub-interface of Function,
		// is listed); any other unknown class might.
		if !strings.HasPrefix(t.name, "java.") && !strings.HasPrefix(t.name, "javax.") && !strings.HasPrefix(t.name, "jdk.") {
			p.Incomplete = true
			if p.Unknown == "" {
				p.Unknown = t.name
			}
		}
		return nil, nil, false
	}
	if declared || len(ci.params) == 0 { // nothing to substitute
		return ci.super, ci.interfaces, true
	}
	if t.args == nil { // a raw use of a generic class: raw supertypes
		raw := func(s *jtype) *jtype {
			if s == nil {
				return nil
			}
			return &jtype{kind: 'L', name: erasure(s)}
		}
		super = raw(ci.super)
		for _, i := range ci.interfaces {
			ifaces = append(ifaces, raw(i))
		}
		return super, ifaces, true
	}
	env := map[string]*jtype{}
	for i, tp := range ci.params {
		if i < len(t.args) {
			env[tp.name] = t.args[i]
		}
	}
	super = subst(ci.super, env)
	for _, i := range ci.interfaces {
		ifaces = append(ifaces, subst(i, env))
	}
	return super, ifaces, true
}

// Assignable tells whether the class named name is target or a subtype.
func (p *Package) Assignable(name, target string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(n string) bool {
		if n == target {
			return true
		}
		if seen[n] || strings.HasPrefix(n, "[") || len(n) == 1 {
			return false
		}
		seen[n] = true
		super, ifaces, ok := p.supertypes(&jtype{kind: 'L', name: n}, true)
		if !ok {
			return false
		}
		for _, i := range ifaces {
			if walk(erasure(i)) {
				return true
			}
		}
		return super != nil && walk(erasure(super))
	}
	return walk(name)
}

// assignableType is assignable for a type argument: a class we do not know
// there (String, a POJO of the worker's classpath) is simply not a
// Collection, Record or CompletableFuture, and does not make the function's
// own hierarchy incomplete.
func (p *Package) assignableType(name, target string) bool {
	incomplete, unknown := p.Incomplete, p.Unknown
	defer func() { p.Incomplete, p.Unknown = incomplete, unknown }()
	return p.Assignable(name, target)
}

func (p *Package) describe(t *jtype) string {
	name := erasure(t)
	if ci := p.Lookup(name); ci != nil && ci.isInterface {
		return "interface " + name
	}
	return "class " + name
}

// typeArguments is getTypeArguments() of a generic type.
func (p *Package) typeArguments(t *jtype) ([]*jtype, error) {
	if t.kind != 'L' || t.args == nil {
		return nil, fmt.Errorf("A non-generic type does not imply type arguments: %s", p.describe(t))
	}
	return t.args, nil
}

// resolveInterfaceTypeArguments is FunctionCommon's: the type arguments of
// the first declared interface assignable to target, on t or its super
// classes. found is false where Java's method returns null.
func (p *Package) resolveInterfaceTypeArguments(t *jtype, declared bool, target string) (args []*jtype, found bool, err error) {
	for depth := 0; t != nil && depth < 64; depth++ {
		super, ifaces, _ := p.supertypes(t, declared)
		for _, i := range ifaces {
			if p.Assignable(erasure(i), target) {
				args, err := p.typeArguments(i)
				return args, true, err
			}
		}
		t, declared = super, false
	}
	return nil, false, nil
}

func index(args []*jtype, i int) (*jtype, error) {
	if i >= len(args) {
		return nil, fmt.Errorf("Index %d out of bounds for length %d", i, len(args))
	}
	return args[i], nil
}

// FunctionTypes is FunctionCommon.getFunctionTypes: the erased input and
// output types of the function class.
func (p *Package) FunctionTypes(class string, window bool) (in, out string, err error) {
	t0, t1, parent, err := p.rawFunctionTypes(class, window)
	if err != nil {
		return "", "", err
	}
	if window && parent == JavaFunction {
		if !p.assignableType(erasure(t0), collectionType) {
			return "", "", errors.New("Window function must take a collection as input")
		}
		a, err := p.typeArguments(t0)
		if err != nil {
			return "", "", err
		}
		if t0, err = index(a, 0); err != nil {
			return "", "", err
		}
	}
	for _, wrapper := range []string{pulsarRecord, futureClass} {
		if p.assignableType(erasure(t1), wrapper) {
			a, err := p.typeArguments(t1)
			if err != nil {
				return "", "", err
			}
			if t1, err = index(a, 0); err != nil {
				return "", "", err
			}
		}
	}
	return erasure(t0), erasure(t1), nil
}

// rawFunctionTypes is FunctionCommon.getRawFunctionTypes: the function
// interface's type arguments as declared, and which interface that is.
func (p *Package) rawFunctionTypes(class string, window bool) (t0, t1 *jtype, parent string, err error) {
	user := &jtype{kind: 'L', name: class}
	parent = JavaFunction
	if window {
		if p.Assignable(class, WindowFunction) {
			parent = WindowFunction
		}
	} else if p.Assignable(class, PulsarFunction) {
		parent = PulsarFunction
	}
	args, found, err := p.resolveInterfaceTypeArguments(user, true, parent)
	if err != nil {
		return nil, nil, "", err
	}
	if !found {
		return nil, nil, "", errors.New(msgNoTypeArgs)
	}
	if t0, err = index(args, 0); err != nil {
		return nil, nil, "", err
	}
	if t1, err = index(args, 1); err != nil {
		return nil, nil, "", err
	}
	return t0, t1, parent, nil
}

// OutputIsRecord tells whether the function class declares its output
// (getRawFunctionTypes, before a Record is unwrapped) as Pulsar's Record or
// a subtype: what a sink's transform function must return.
func (p *Package) OutputIsRecord(class string) (bool, error) {
	_, t1, _, err := p.rawFunctionTypes(class, false)
	if err != nil {
		return false, err
	}
	return p.assignableType(erasure(t1), pulsarRecord), nil
}

// ConnectorTypeArg resolves the first type argument of iface on class;
// "" when the hierarchy leaves what we can read (the component is then
// stored without a type name rather than refused on a guess).
func (p *Package) ConnectorTypeArg(class, iface string) (string, error) {
	args, found, err := p.resolveInterfaceTypeArguments(&jtype{kind: 'L', name: class}, true, iface)
	if err != nil || !found || len(args) == 0 {
		if p.Incomplete {
			return "", nil
		}
		if err == nil {
			err = errors.New(msgNoTypeArgs)
		}
		return "", err
	}
	return erasure(args[0]), nil
}
