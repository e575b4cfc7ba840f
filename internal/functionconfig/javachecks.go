package functionconfig

import (
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/javaclass"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// javaChecks is FunctionConfigUtils.doJavaChecks without the serde, schema
// and crypto class checks. It returns what convert needs. When the class's
// hierarchy leaves the package for classes we do not know (p.unknown), the
// function is accepted without type names rather than refused on a guess.
func javaChecks(p *javaclass.Package, fc *Function) (extractedDetails, error) {
	className := strings.TrimFunc(str(fc.ClassName), func(r rune) bool { return r <= ' ' })
	if className == "" {
		if !p.IsNar || p.Definition.FunctionClass == "" {
			return extractedDetails{}, Invalid("Function class name is not provided.")
		}
		className = p.Definition.FunctionClass
	}
	if p.Lookup(className) == nil {
		return extractedDetails{}, Invalid("Function class %s must be in class path", className)
	}
	ex := extractedDetails{functionClassName: &className}
	ok := p.Assignable(className, javaclass.PulsarFunction) || p.Assignable(className, javaclass.JavaFunction) ||
		p.Assignable(className, javaclass.WindowFunction)
	switch {
	case !ok && !p.Incomplete:
		return extractedDetails{}, Invalid("Function class %s does not implement the correct interface", className)
	case ok:
		in, out, err := p.FunctionTypes(className, fc.WindowConfig != nil)
		if err == nil {
			ex.typeArg0, ex.typeArg1 = &in, &out
		} else if !p.Incomplete {
			return extractedDetails{}, Invalid("%s", err.Error())
		}
	}
	if err := fc.javaConfigChecks(); err != nil {
		return extractedDetails{}, err
	}
	return ex, nil
}

// javaConfigChecks are the parts of doJavaChecks that need no classes.
func (fc *Function) javaConfigChecks() error {
	for _, topic := range sortedKeys(fc.CustomSchemaInputs) {
		var cc consumerConfig
		if isNull, err := jackson.Decode([]byte(fc.CustomSchemaInputs[topic]), consumerSchema, &cc); err != nil || isNull {
			return Invalid("Topic %s has an incorrect schema Info", topic)
		}
	}
	for _, topic := range sortedKeys(fc.InputSpecs) {
		cc := fc.InputSpecs[topic]
		if !isEmpty(cc.SchemaType) && !isEmpty(cc.SerdeClassName) {
			return Invalid("Only one of schemaType or serdeClassName should be set in inputSpec")
		}
	}
	if !isEmpty(fc.OutputSerdeClassName) && !isEmpty(fc.OutputSchemaType) {
		return Invalid("Only one of outputSchemaType or outputSerdeClassName should be set")
	}
	return nil
}

// CheckAndConvert validates a config whose missing values are inferred and
// converts it: validateJavaFunction (with the package at pkgPath) or
// validateNonJavaFunction, then convert. unknownClass names a class outside
// the package that kept us from finding the type names.
func CheckAndConvert(fc *Function, pkgPath string) (fd *pb.FunctionDetails, unknownClass string, err error) {
	if str(fc.Runtime) != "JAVA" {
		if err := fc.validateNonJavaFunction(); err != nil {
			return nil, "", err
		}
		fd, err := fc.convert(extractedDetails{functionClassName: fc.ClassName})
		return fd, "", err
	}
	if pkgPath == "" {
		return nil, "", Invalid(msgJavaPackageMissng)
	}
	jp, closer, err := javaclass.Open(pkgPath)
	if err != nil {
		return nil, "", Invalid("%s", err.Error())
	}
	defer closer.Close()
	if err := fc.doCommonChecks(); err != nil {
		return nil, "", err
	}
	ex, err := javaChecks(jp, fc)
	if err != nil {
		return nil, "", err
	}
	if ex.typeArg0 == nil {
		unknownClass = jp.Unknown
	}
	fd, err = fc.convert(ex)
	return fd, unknownClass, err
}
