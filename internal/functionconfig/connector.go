package functionconfig

// SourceConfig/SinkConfig <-> FunctionDetails as Apache Pulsar 4.0.8's
// SourceConfigUtils and SinkConfigUtils do it (convert, convertFromDetails,
// validateAndExtractDetails, validateUpdate) and Utils.inferMissingArguments.
// Messages are Java's. testdata/connectors holds the golden files.
//
// Where we knowingly differ from 4.0.8:
//   - serde, schema and crypto-key-reader classes are not checked against the
//     package (as for functions), and validateConnectorConfig (annotation
//     checks of the connector's config class) is not done.
//   - a sink's transform function package without transformFunctionClassName
//     gets its class from the pulsar-io.yaml's functionClass whatever its
//     URL; 4.0.8 does so only for builtin:// and otherwise fails casting
//     the package's ConnectorDefinition to a FunctionDefinition.

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/javaclass"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// Java class names the connector conversion needs.
const (
	identityFunctionClass = "org.apache.pulsar.functions.api.utils.IdentityFunction"
	sourceInterface       = "org.apache.pulsar.io.core.Source"
	batchSourceInterface  = "org.apache.pulsar.io.core.BatchSource"
	sinkInterface         = "org.apache.pulsar.io.core.Sink"
	batchSourceExecutor   = "org.apache.pulsar.functions.source.batch.BatchSourceExecutor"
	batchSourceConfigKey  = "__BATCHSOURCECONFIGS__"
	batchSourceClassKey   = "__BATCHSOURCECLASSNAME__"
)

// gson is the batch source config as Gson writes it into the configs.
func (b *batchSourceConfig) gson() jackson.GsonObject {
	o := jackson.GsonObject{}
	if b.DiscoveryTriggererClassName != nil {
		o = append(o, jackson.GsonField{Name: "discoveryTriggererClassName", Value: *b.DiscoveryTriggererClassName})
	}
	if b.DiscoveryTriggererConfig != nil {
		o = append(o, jackson.GsonField{Name: "discoveryTriggererConfig", Value: b.DiscoveryTriggererConfig})
	}
	return o
}

// parseSourceConfig binds the sourceConfig part; missing, empty or "null"
// gives (nil, nil).
func parseSourceConfig(data []byte) (*Source, error) {
	return parse[Source](data, sourceConfigSchema)
}

// parseSinkConfig binds the sinkConfig part; missing, empty or "null"
// gives (nil, nil).
func parseSinkConfig(data []byte) (*Sink, error) {
	return parse[Sink](data, sinkConfigSchema)
}

// --- shared pieces -----------------------------------------------------------

// validateResources is ResourceConfigUtils.validate.
func validateResources(r *resourcesConfig) error {
	if r == nil {
		return nil
	}
	if r.CPU != nil && *r.CPU <= 0 {
		return Invalid("The cpu allocation for the function must be positive")
	}
	if r.RAM != nil && *r.RAM <= 0 {
		return Invalid("The ram allocation for the function must be positive")
	}
	if r.Disk != nil && *r.Disk <= 0 {
		return Invalid("The disk allocation for the function must be positive")
	}
	return nil
}

// resourcesSpec is Resources.mergeWithDefault as protobuf.
func resourcesSpec(r *resourcesConfig) *pb.Resources {
	res := &pb.Resources{Cpu: defaultCPU, Ram: defaultRAM, Disk: defaultDisk}
	if r != nil {
		if r.CPU != nil {
			res.Cpu = float64(*r.CPU)
		}
		if r.RAM != nil {
			res.Ram = *r.RAM
		}
		if r.Disk != nil {
			res.Disk = *r.Disk
		}
	}
	return res
}

// mergeResources is ResourceConfigUtils.merge.
func mergeResources(existing, update *resourcesConfig) *resourcesConfig {
	r := &resourcesConfig{CPU: ptr(jackson.Double(defaultCPU)), RAM: ptr(int64(defaultRAM)), Disk: ptr(int64(defaultDisk))}
	if existing != nil {
		c := *existing
		r = &c
	}
	if update.CPU != nil {
		r.CPU = update.CPU
	}
	if update.RAM != nil {
		r.RAM = update.RAM
	}
	if update.Disk != nil {
		r.Disk = update.Disk
	}
	return r
}

func resourcesFromSpec(fd *pb.FunctionDetails) *resourcesConfig {
	r := fd.GetResources()
	if r == nil {
		return nil
	}
	return &resourcesConfig{CPU: ptr(jackson.Double(r.GetCpu())), RAM: ptr(r.GetRam()), Disk: ptr(r.GetDisk())}
}

// guarantee converts a FunctionConfig.ProcessingGuarantees name.
func guarantee(g *string) pb.ProcessingGuarantees {
	if g == nil {
		return pb.ProcessingGuarantees_ATLEAST_ONCE
	}
	return pb.ProcessingGuarantees(pb.ProcessingGuarantees_value[*g])
}

// jacksonConfigs reads a Map<String, Object> Jackson wrote or Gson wrote
// (configs of the specs), typed as Jackson reads it.
func jacksonConfigs(s string) (map[string]any, error) {
	v, err := jackson.DecodeValue([]byte(s))
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("configs are not a JSON object")
	}
	return typedAnyMap(m), nil
}

// openConnector opens the connector's package (a NAR or jar) and finds
// the class it runs: the config's className, else the one the NAR's
// pulsar-io.yaml names; it must be in the package.
func (r *kindRules) openConnector(pkgPath string, className *string) (*javaclass.Package, io.Closer, string, error) {
	pkg, closer, err := javaclass.Open(pkgPath)
	if err != nil {
		return nil, nil, "", Invalid("%s", err.Error())
	}
	class, err := r.connectorClass(className, pkg)
	if err == nil && pkg.Lookup(class) == nil {
		err = Invalid(r.classNotFoundMsg, class)
	}
	if err != nil {
		closer.Close()
		return nil, nil, "", err
	}
	return pkg, closer, class, nil
}

func (r *kindRules) connectorClass(className *string, pkg *javaclass.Package) (string, error) {
	if className != nil {
		return *className, nil
	}
	if !pkg.IsNar {
		return "", Invalid("%s package doesn't contain the META-INF/services/pulsar-io.yaml file.", r.noun)
	}
	defined := pkg.Definition.SinkClass
	if r.componentType == pb.FunctionDetails_SOURCE {
		defined = pkg.Definition.SourceClass
	}
	if defined == "" {
		return "", Invalid("Failed to extract %s class from archive", strings.ToLower(r.noun))
	}
	return defined, nil
}

// --- sources -----------------------------------------------------------------

// inferMissingArguments is Utils.inferMissingArguments(SourceConfig).
func (sc *Source) inferMissingArguments() {
	if sc.Parallelism == nil {
		sc.Parallelism = ptr(int32(1))
	}
}

// extractedSource is ExtractedSourceDetails.
type extractedSource struct {
	className string
	typeArg   string
}

// validateAndExtract is SourceConfigUtils.validateAndExtractDetails with the
// package (a NAR or jar) at pkgPath.
func (sc *Source) validateAndExtract(pkgPath string) (extractedSource, error) {
	var ex extractedSource
	if err := sc.validateFields(); err != nil {
		return ex, err
	}
	pkg, closer, class, err := sourceRules.openConnector(pkgPath, sc.ClassName)
	if err != nil {
		return ex, err
	}
	defer closer.Close()
	isSource := pkg.Assignable(class, sourceInterface)
	isBatch := pkg.Assignable(class, batchSourceInterface)
	if !isSource && !isBatch && !pkg.Incomplete {
		return ex, Invalid("Source class %s does not implement the correct interface", class)
	}
	if isBatch {
		if sc.BatchSourceConfig == nil {
			return ex, Invalid("Source class %s implements %s but batch source source config is not specified", class, batchSourceInterface)
		}
		if isEmpty(sc.BatchSourceConfig.DiscoveryTriggererClassName) {
			return ex, Invalid("BatchSourceConfig does not specify Discovery Trigger ClassName")
		}
	}
	iface := sourceInterface
	if isBatch {
		iface = batchSourceInterface
	}
	typeArg, err := pkg.ConnectorTypeArg(class, iface)
	if err != nil {
		return ex, Invalid("Failed to resolve type for Source class %s", class)
	}
	if !isEmpty(sc.SerdeClassName) && !isEmpty(sc.SchemaType) {
		return ex, Invalid("Only one of serdeClassName or schemaType should be set")
	}
	return extractedSource{className: class, typeArg: typeArg}, nil
}

// validateFields are the checks of validateAndExtractDetails that need no
// package.
func (sc *Source) validateFields() error {
	switch {
	case isEmpty(sc.Tenant):
		return Invalid("Source tenant cannot be null")
	case isEmpty(sc.Namespace):
		return Invalid("Source namespace cannot be null")
	case isEmpty(sc.Name):
		return Invalid("Source name cannot be null")
	case !isEmpty(sc.TopicName) && !validTopicName(*sc.TopicName):
		return Invalid("Topic name is invalid")
	case !isEmpty(sc.LogTopic) && !validTopicName(*sc.LogTopic):
		return Invalid("LogTopic topic %s is invalid", *sc.LogTopic)
	case sc.Parallelism != nil && *sc.Parallelism <= 0:
		return Invalid("Source parallelism must be a positive number")
	}
	return validateResources(sc.Resources)
}

// convert is SourceConfigUtils.convert.
func (sc *Source) convert(ex extractedSource) (*pb.FunctionDetails, error) {
	fd, err := sourceRules.view(sc).details()
	if err != nil {
		return nil, err
	}
	src := &pb.SourceSpec{ClassName: ex.className, TypeClassName: ex.typeArg}
	if a := str(sc.Archive); strings.HasPrefix(a, "builtin://") {
		src.Builtin = strings.TrimPrefix(a, "builtin://")
	}
	configs := map[string]any{}
	for k, v := range sc.Configs {
		configs[k] = v
	}
	if sc.BatchSourceConfig != nil {
		configs[batchSourceConfigKey] = jackson.GsonJSON(sc.BatchSourceConfig.gson())
		configs[batchSourceClassKey] = src.ClassName
		src.ClassName = batchSourceExecutor
	}
	src.Configs = jackson.GsonJSON(configs)
	fd.Source = src
	fd.Sink = &pb.SinkSpec{
		SchemaType:                   str(sc.SchemaType),
		SerDeClassName:               str(sc.SerdeClassName),
		Topic:                        str(sc.TopicName),
		TypeClassName:                ex.typeArg,
		ForwardSourceMessageProperty: true,
		ProducerSpec:                 producerSpec(sc.ProducerConfig, sc.BatchBuilder),
	}
	if err := validateFunctionDetails(fd); err != nil {
		return nil, err
	}
	return fd, nil
}

// SourceFromDetails is SourceConfigUtils.convertFromDetails.
func SourceFromDetails(fd *pb.FunctionDetails) (*Source, error) {
	sc := &Source{}
	if err := sourceRules.view(sc).fromDetails(fd); err != nil {
		return nil, err
	}
	src := fd.GetSource()
	if src.GetClassName() != "" {
		sc.ClassName = ptr(src.GetClassName())
	}
	if src.GetBuiltin() != "" {
		sc.Archive = ptr("builtin://" + src.GetBuiltin())
	}
	if src.GetConfigs() != "" {
		configs, err := jacksonConfigs(src.GetConfigs())
		if err != nil {
			return nil, Invalid("Failed to read configs for source %s: %v", fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName()), err)
		}
		sc.readBatchConfig(configs)
		sc.Configs = configs
	}
	if err := sourceRules.view(sc).outputFromDetails(fd.GetSink()); err != nil {
		return nil, err
	}
	return sc, nil
}

// readBatchConfig takes the batch source config and the real class out of
// the configs, where convert put them.
func (sc *Source) readBatchConfig(configs map[string]any) {
	if raw, ok := configs[batchSourceConfigKey].(string); ok {
		var b batchSourceConfig
		if _, err := jackson.Decode([]byte(raw), batchSourceSchema, &b); err == nil {
			b.DiscoveryTriggererConfig = typedAnyMap(b.DiscoveryTriggererConfig)
			sc.BatchSourceConfig = &b
			if cls, ok := configs[batchSourceClassKey]; ok {
				if s, _ := cls.(string); s != "" {
					sc.ClassName = ptr(s)
				} else {
					sc.ClassName = nil
				}
			}
		}
	}
	delete(configs, batchSourceConfigKey)
	delete(configs, batchSourceClassKey)
}

// validateSourceUpdate is SourceConfigUtils.validateUpdate.
func validateSourceUpdate(existing, newConfig *Source) (*Source, error) {
	merged := sourceRules.updateOf(existing).(*Source)
	if err := sourceRules.update(sourceRules.view(existing), sourceRules.view(newConfig), sourceRules.view(merged)); err != nil {
		return nil, err
	}
	for _, f := range []struct{ from, to **string }{
		{&newConfig.TopicName, &merged.TopicName}, {&newConfig.SerdeClassName, &merged.SerdeClassName}, {&newConfig.SchemaType, &merged.SchemaType},
	} {
		if !isEmpty(*f.from) {
			*f.to = *f.from
		}
	}
	if (existing.BatchSourceConfig != nil) != (newConfig.BatchSourceConfig != nil) {
		return nil, Invalid("Sources cannot be update between regular sources and batchsource")
	}
	if newConfig.BatchSourceConfig != nil {
		if str(existing.BatchSourceConfig.DiscoveryTriggererClassName) != str(newConfig.BatchSourceConfig.DiscoveryTriggererClassName) {
			return nil, Invalid("DiscoverTriggerer class cannot be updated for batchsources")
		}
		merged.BatchSourceConfig = newConfig.BatchSourceConfig
	}
	return merged, nil
}

// ForResponse prepares the config for encoding.
func (sc *Source) ForResponse() *Source {
	out := *sc
	sourceRules.forResponse(&out)
	return &out
}

// --- sinks -------------------------------------------------------------------

// inferMissingArguments is Utils.inferMissingArguments(SinkConfig).
func (sc *Sink) inferMissingArguments() {
	if sc.Parallelism == nil {
		sc.Parallelism = ptr(int32(1))
	}
}

// extractedSink is ExtractedSinkDetails; functionClassName is set for a
// sink with a transform function.
type extractedSink struct {
	className         string
	typeArg           string
	functionClassName string
}

// collectAllInputTopics is SinkConfigUtils.collectAllInputTopics.
func (sc *Sink) collectAllInputTopics() []string {
	var out []string
	out = append(out, sc.Inputs...)
	out = append(out, sortedKeys(sc.TopicToSerdeClassName)...)
	if sc.TopicsPattern != nil {
		out = append(out, *sc.TopicsPattern)
	}
	out = append(out, sortedKeys(sc.TopicToSchemaType)...)
	out = append(out, sortedKeys(sc.InputSpecs)...)
	return out
}

// validateFields are the checks of validateAndExtractDetails that need no
// package, in Java's order up to the class lookup.
func (sc *Sink) validateFields() error {
	switch {
	case isEmpty(sc.Tenant):
		return Invalid("Sink tenant cannot be null")
	case isEmpty(sc.Namespace):
		return Invalid("Sink namespace cannot be null")
	case isEmpty(sc.Name):
		return Invalid("Sink name cannot be null")
	}
	inputs := sc.collectAllInputTopics()
	if len(inputs) == 0 {
		return Invalid("Must specify at least one topic of input via topicToSerdeClassName, " +
			"topicsPattern, topicToSchemaType or inputSpecs")
	}
	for _, t := range inputs {
		if !validTopicName(t) {
			return Invalid("Input topic %s is invalid", t)
		}
	}
	switch {
	case !isEmpty(sc.LogTopic) && !validTopicName(*sc.LogTopic):
		return Invalid("LogTopic topic %s is invalid", *sc.LogTopic)
	case sc.Parallelism != nil && *sc.Parallelism <= 0:
		return Invalid("Sink parallelism must be a positive number")
	}
	if err := validateResources(sc.Resources); err != nil {
		return err
	}
	if sc.TimeoutMs != nil && *sc.TimeoutMs < 0 {
		return Invalid("Sink timeout must be a positive number")
	}
	return nil
}

// validateAndExtract is SinkConfigUtils.validateAndExtractDetails with the
// sink's package at pkgPath and, when transformPath is not empty, the
// transform function's package there.
func (sc *Sink) validateAndExtract(pkgPath, transformPath string) (extractedSink, error) {
	var ex extractedSink
	if err := sc.validateFields(); err != nil {
		return ex, err
	}
	pkg, closer, class, err := sinkRules.openConnector(pkgPath, sc.ClassName)
	if err != nil {
		return ex, err
	}
	defer closer.Close()
	functionClass := str(sc.TransformFunctionClassName)
	var typeArg string
	if transformPath != "" {
		if functionClass, typeArg, err = transformFunctionTypes(transformPath, sc.TransformFunctionClassName); err != nil {
			return ex, err
		}
	} else if typeArg, err = pkg.ConnectorTypeArg(class, sinkInterface); err != nil {
		return ex, Invalid("%s", err.Error())
	}
	for _, cc := range sc.InputSpecs {
		if !isEmpty(cc.SerdeClassName) && !isEmpty(cc.SchemaType) {
			return ex, Invalid("Only one of serdeClassName or schemaType should be set")
		}
	}
	if isTrue(sc.RetainKeyOrdering) && str(sc.ProcessingGuarantees) == "EFFECTIVELY_ONCE" {
		return ex, Invalid("When effectively once processing guarantee is specified, retain Key ordering cannot be set")
	}
	if isTrue(sc.RetainKeyOrdering) && isTrue(sc.RetainOrdering) {
		return ex, Invalid("Only one of retain ordering or retain key ordering can be set")
	}
	return extractedSink{className: class, typeArg: typeArg, functionClassName: functionClass}, nil
}

// transformFunctionTypes is the transform function part of
// validateAndExtractDetails: the function class (the config's, else the
// package's pulsar-io.yaml functionClass) must be in the package and return
// a Record; its input type is what the sink consumes. A hierarchy that
// leaves what we can read gives no type name rather than a refusal.
func transformFunctionTypes(pkgPath string, className *string) (class, typeArg string, err error) {
	pkg, closer, err := javaclass.Open(pkgPath)
	if err != nil {
		return "", "", Invalid("%s", err.Error())
	}
	defer closer.Close()
	if className != nil {
		class = *className
	} else {
		if !pkg.IsNar {
			return "", "", Invalid("Function package doesn't contain the META-INF/services/pulsar-io.yaml file.")
		}
		if class = pkg.Definition.FunctionClass; class == "" {
			return "", "", Invalid("Transform function class name must be set")
		}
	}
	if pkg.Lookup(class) == nil {
		return "", "", Invalid("Function class %s not found", class)
	}
	isRecord, err := pkg.OutputIsRecord(class)
	if err == nil && !isRecord && !pkg.Incomplete {
		return "", "", Invalid("Sink transform function output must be of type Record")
	}
	if err == nil {
		typeArg, _, err = pkg.FunctionTypes(class, false)
	}
	if err != nil {
		if pkg.Incomplete {
			return class, "", nil
		}
		return "", "", Invalid("%s", err.Error())
	}
	return class, typeArg, nil
}

// convert is SinkConfigUtils.convert.
func (sc *Sink) convert(ex extractedSink) (*pb.FunctionDetails, error) {
	fd, err := sinkRules.view(sc).details()
	if err != nil {
		return nil, err
	}
	fd.Source.TypeClassName = ex.typeArg
	if ex.functionClassName != "" {
		fd.ClassName = ex.functionClassName
	}
	if sc.TransformFunctionConfig != nil {
		fd.UserConfig = *sc.TransformFunctionConfig
	}
	if t := str(sc.TransformFunction); strings.HasPrefix(t, "builtin://") {
		fd.Builtin = strings.TrimPrefix(t, "builtin://")
	}
	sink := &pb.SinkSpec{ClassName: ex.className, TypeClassName: ex.typeArg}
	if a := str(sc.Archive); strings.HasPrefix(a, "builtin://") {
		sink.Builtin = strings.TrimPrefix(a, "builtin://")
	}
	if sc.Configs != nil {
		sink.Configs = jackson.GsonJSON(sc.Configs)
	}
	fd.Sink = sink
	if err := validateFunctionDetails(fd); err != nil {
		return nil, err
	}
	return fd, nil
}

// SinkFromDetails is SinkConfigUtils.convertFromDetails.
func SinkFromDetails(fd *pb.FunctionDetails) (*Sink, error) {
	sc := &Sink{}
	if err := sinkRules.view(sc).fromDetails(fd); err != nil {
		return nil, err
	}
	sc.Inputs = sortedKeys(fd.GetSource().GetInputSpecs())
	sink := fd.GetSink()
	if sink.GetClassName() != "" {
		sc.ClassName = ptr(sink.GetClassName())
	}
	if sink.GetBuiltin() != "" {
		sc.Archive = ptr("builtin://" + sink.GetBuiltin())
	}
	if sink.GetConfigs() != "" {
		configs, err := jacksonConfigs(sink.GetConfigs())
		if err != nil {
			return nil, Invalid("Failed to read configs for sink %s: %v", fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName()), err)
		}
		sc.Configs = configs
	}
	if fd.GetBuiltin() != "" {
		sc.TransformFunction = ptr("builtin://" + fd.GetBuiltin())
	}
	if fd.GetClassName() != identityFunctionClass {
		sc.TransformFunctionClassName = ptr(fd.GetClassName())
	}
	if fd.GetUserConfig() != "" {
		sc.TransformFunctionConfig = ptr(fd.GetUserConfig())
	}
	return sc, nil
}

// SinkFromMetadata is SinkFromDetails plus transformFunction from the
// metadata's transformFunctionPackageLocation when the details do not name
// it (a package URL rather than builtin://): 4.0.8 leaves it out of its
// answer and so loses it on updates (README, deviations).
func SinkFromMetadata(md *pb.FunctionMetaData) (*Sink, error) {
	sc, err := SinkFromDetails(md.GetFunctionDetails())
	if err != nil {
		return nil, err
	}
	if p := md.GetTransformFunctionPackageLocation().GetPackagePath(); p != "" && sc.TransformFunction == nil {
		sc.TransformFunction = ptr(p)
	}
	return sc, nil
}

// validateSinkUpdate is SinkConfigUtils.validateUpdate.
func validateSinkUpdate(existing, newConfig *Sink) (*Sink, error) {
	merged := sinkRules.updateOf(existing).(*Sink)
	if err := sinkRules.update(sinkRules.view(existing), sinkRules.view(newConfig), sinkRules.view(merged)); err != nil {
		return nil, err
	}
	for _, f := range []struct{ from, to **string }{
		{&newConfig.TransformFunction, &merged.TransformFunction},
		{&newConfig.TransformFunctionClassName, &merged.TransformFunctionClassName},
		{&newConfig.TransformFunctionConfig, &merged.TransformFunctionConfig},
		{&newConfig.SourceSubscriptionPosition, &merged.SourceSubscriptionPosition},
	} {
		if *f.from != nil {
			*f.to = *f.from
		}
	}
	return merged, nil
}

// ForResponse prepares the config for encoding.
func (sc *Sink) ForResponse() *Sink {
	out := *sc
	sinkRules.forResponse(&out)
	return &out
}

// Connector is a parsed sourceConfig or sinkConfig part.
type Connector interface {
	SetPath(t, ns, name string)
	InferMissing()
	ArchiveURL() string
	// TransformURL is a sink's transformFunction ("" for sources).
	TransformURL() string
	// Validate checks and converts with the package at pkgPath and, for a
	// sink with a transform function, that function's package at
	// transformPath.
	Validate(pkgPath, transformPath string) (*pb.FunctionDetails, error)
}

func (sc *Source) SetPath(t, ns, name string) {
	sc.Tenant, sc.Namespace, sc.Name = ptr(t), ptr(ns), ptr(name)
}
func (sc *Source) InferMissing()        { sc.inferMissingArguments() }
func (sc *Source) ArchiveURL() string   { return str(sc.Archive) }
func (sc *Source) TransformURL() string { return "" }
func (sc *Source) Validate(pkgPath, _ string) (*pb.FunctionDetails, error) {
	ex, err := sc.validateAndExtract(pkgPath)
	if err != nil {
		return nil, err
	}
	return sc.convert(ex)
}

func (sc *Sink) SetPath(t, ns, name string) {
	sc.Tenant, sc.Namespace, sc.Name = ptr(t), ptr(ns), ptr(name)
}
func (sc *Sink) InferMissing()        { sc.inferMissingArguments() }
func (sc *Sink) ArchiveURL() string   { return str(sc.Archive) }
func (sc *Sink) TransformURL() string { return str(sc.TransformFunction) }
func (sc *Sink) Validate(pkgPath, transformPath string) (*pb.FunctionDetails, error) {
	ex, err := sc.validateAndExtract(pkgPath, transformPath)
	if err != nil {
		return nil, err
	}
	return sc.convert(ex)
}

// parseConnectorConfig binds the kind's config part; (nil, nil) when absent.
func ParseConnector(ct pb.FunctionDetails_ComponentType, data []byte) (Connector, error) {
	if ct == pb.FunctionDetails_SOURCE {
		sc, err := parseSourceConfig(data)
		if sc == nil || err != nil {
			return nil, err
		}
		return sc, nil
	}
	sc, err := parseSinkConfig(data)
	if sc == nil || err != nil {
		return nil, err
	}
	return sc, nil
}

// ConnectorFromDetails is convertFromDetails of the kind.
func ConnectorFromDetails(ct pb.FunctionDetails_ComponentType, fd *pb.FunctionDetails) (Connector, error) {
	if ct == pb.FunctionDetails_SOURCE {
		return SourceFromDetails(fd)
	}
	return SinkFromDetails(fd)
}

// ConnectorFromMetadata is ConnectorFromDetails with a sink's transform
// function URL kept (SinkFromMetadata).
func ConnectorFromMetadata(ct pb.FunctionDetails_ComponentType, md *pb.FunctionMetaData) (Connector, error) {
	if ct == pb.FunctionDetails_SOURCE {
		return SourceFromDetails(md.GetFunctionDetails())
	}
	return SinkFromMetadata(md)
}

// validateUpdate is validateUpdate of the kind.
func ValidateConnectorUpdate(ct pb.FunctionDetails_ComponentType, existing, update Connector) (Connector, error) {
	if ct == pb.FunctionDetails_SOURCE {
		return validateSourceUpdate(existing.(*Source), update.(*Source))
	}
	return validateSinkUpdate(existing.(*Sink), update.(*Sink))
}

func fqfnOf(t, ns, name string) string { return t + "/" + ns + "/" + name }

// SameConfig is Java's equals of two configs.
func SameConfig(a, b Connector) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
