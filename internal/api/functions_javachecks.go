package api

import (
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/javaclass"
)

// javaChecks is FunctionConfigUtils.doJavaChecks without the serde, schema
// and crypto class checks. It returns what convert needs. When the class's
// hierarchy leaves the package for classes we do not know (p.unknown), the
// function is accepted without type names rather than refused on a guess.
func javaChecks(p *javaclass.Package, fc *functionConfig) (extractedDetails, error) {
	className := strings.TrimFunc(str(fc.ClassName), func(r rune) bool { return r <= ' ' })
	if className == "" {
		if !p.IsNar || p.Definition.FunctionClass == "" {
			return extractedDetails{}, invalid("Function class name is not provided.")
		}
		className = p.Definition.FunctionClass
	}
	if p.Lookup(className) == nil {
		return extractedDetails{}, invalid("Function class %s must be in class path", className)
	}
	ex := extractedDetails{functionClassName: &className}
	ok := p.Assignable(className, javaclass.PulsarFunction) || p.Assignable(className, javaclass.JavaFunction) ||
		p.Assignable(className, javaclass.WindowFunction)
	switch {
	case !ok && !p.Incomplete:
		return extractedDetails{}, invalid("Function class %s does not implement the correct interface", className)
	case ok:
		in, out, err := p.FunctionTypes(className, fc.WindowConfig != nil)
		if err == nil {
			ex.typeArg0, ex.typeArg1 = &in, &out
		} else if !p.Incomplete {
			return extractedDetails{}, invalid("%s", err.Error())
		}
	}
	if err := fc.javaConfigChecks(); err != nil {
		return extractedDetails{}, err
	}
	return ex, nil
}

// javaConfigChecks are the parts of doJavaChecks that need no classes.
func (fc *functionConfig) javaConfigChecks() error {
	for _, topic := range sortedKeys(fc.CustomSchemaInputs) {
		var cc consumerConfig
		if isNull, err := jackson.Decode([]byte(fc.CustomSchemaInputs[topic]), consumerSchema, &cc); err != nil || isNull {
			return invalid("Topic %s has an incorrect schema Info", topic)
		}
	}
	for _, topic := range sortedKeys(fc.InputSpecs) {
		cc := fc.InputSpecs[topic]
		if !isEmpty(cc.SchemaType) && !isEmpty(cc.SerdeClassName) {
			return invalid("Only one of schemaType or serdeClassName should be set in inputSpec")
		}
	}
	if !isEmpty(fc.OutputSerdeClassName) && !isEmpty(fc.OutputSchemaType) {
		return invalid("Only one of outputSchemaType or outputSerdeClassName should be set")
	}
	return nil
}
