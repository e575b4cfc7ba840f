package functionconfig

// The one conversion core. FunctionConfigUtils, SourceConfigUtils and
// SinkConfigUtils do the same jobs on the same FunctionDetails fields
// (tenant, inputs, subscription, retries, secrets, resources, ...): the
// core does each job once, over a view of the config, and the differences
// Java intends between the kinds are rules, one table per kind (kindRules).
// What only one kind has (a function's window and output, a source's batch
// config, a sink's connector configs) stays with that kind.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/jackson"
	"github.com/pulsar-functions-worker/pulsar-functions-worker/internal/pb"
)

// kindRules are the intended differences between the kinds where they do
// the same job.
type kindRules struct {
	noun          string // "Function", "Source", "Sink" in messages
	componentType pb.FunctionDetails_ComponentType
	// fields names the kind's Go field for each shared property; "" where
	// the kind has none.
	fields map[prop]string
	// className is the FunctionDetails class a connector runs its
	// connector through; "" for a function (its own class).
	className string
	// schemaInputsAreConsumerConfigs: a function's customSchemaInputs
	// values are ConsumerConfig JSON; a sink's topicToSchemaType values
	// are schema types.
	schemaInputsAreConsumerConfigs bool
	// specSchemaProperties: inputSpecs' schemaProperties reach the
	// ConsumerSpec (FunctionConfigUtils; SinkConfigUtils drops them), and
	// convertFromDetails reads back schemaProperties (functions) or
	// consumerProperties (sinks).
	specSchemaProperties bool
	// nackFromTimeout: a function's negative-ack delay is its timeout; a
	// sink has negativeAckRedeliveryDelayMs of its own.
	nackFromTimeout bool
	// minRetries is the least maxMessageRetries that makes RetryDetails
	// (functions: >= 0, sinks: > 0).
	minRetries int32
	// blankIsUnset: SinkConfigUtils tests isNotBlank where
	// FunctionConfigUtils tests isEmpty (dead letter topic, runtime flags
	// read back).
	blankIsUnset bool
	// orderingFromSubscription: convertFromDetails derives retainOrdering
	// and retainKeyOrdering from the subscription type (sinks) instead of
	// reading FunctionDetails' flags (functions).
	orderingFromSubscription bool
	// inputsKeepGivenSpec: on update, an input listed in inputs keeps the
	// inputSpecs entry given for it (sinks); a function's is replaced.
	inputsKeepGivenSpec bool
	// namesDifferMsg is validateUpdate's message for another name.
	namesDifferMsg string
	// alwaysAutoAck: a source acks always (SourceConfig has no autoAck).
	alwaysAutoAck bool
	// classNotFoundMsg is the message for a connector class the package
	// lacks.
	classNotFoundMsg string
	// outputTopicAlways: convertFromDetails reads a source's topicName back
	// even when empty; a function's output only when set.
	outputTopicAlways bool
	// updateMerges are the properties validateUpdate takes from the update
	// when it sets them (strings: when not empty).
	updateMerges []prop
	// updateChecks are validateUpdate's refusals, in the kind's order.
	updateChecks []updateCheck
}

// prop is a property the kinds share under different names.
type prop int

const (
	pTenant prop = iota
	pNamespace
	pName
	pLogTopic
	pParallelism
	pGuarantees
	pRetainOrdering
	pRetainKeyOrdering
	pAutoAck
	pInputs
	pTopicsPattern
	pSerdeInputs
	pSchemaInputs
	pInputSpecs
	pSubName
	pPosition
	pTimeoutMs
	pNackDelayMs
	pCleanup
	pMaxRetries
	pDeadLetter
	pSecrets
	pResources
	pRuntimeFlags
	pCustomRuntimeOptions
	pClassName
	pArchive
	pConfigs
	pProducerConfig
	pOutputSerde
	pOutputSchema
	pRuntime
	pOutput
)

// The checks validateUpdate shares, in the order the kinds run them.
var (
	inputsFixed       = updateCheck{inputs: true}
	guaranteesFixed   = updateCheck{p: pGuarantees, msg: "Processing Guarantees cannot be altered"}
	orderingFixed     = updateCheck{p: pRetainOrdering, msg: "Retain Ordering cannot be altered"}
	keyOrderingFixed  = updateCheck{p: pRetainKeyOrdering, msg: "Retain Key Ordering cannot be altered"}
	autoAckFixed      = updateCheck{p: pAutoAck, msg: "AutoAck cannot be altered"}
	subscriptionFixed = updateCheck{p: pSubName, msg: "Subscription Name cannot be altered", ifNotEmpty: true}
)

var (
	functionRules = &kindRules{
		noun: "Function", componentType: pb.FunctionDetails_FUNCTION,
		fields: map[prop]string{
			pSerdeInputs: "CustomSerdeInputs", pSchemaInputs: "CustomSchemaInputs", pSubName: "SubName",
			pPosition: "SubscriptionPosition", pArchive: "Jar",
		},
		schemaInputsAreConsumerConfigs: true, specSchemaProperties: true, nackFromTimeout: true,
		namesDifferMsg: "Function Names differ",
		updateMerges: []prop{pClassName, pArchive, pLogTopic, pSecrets, pMaxRetries, pDeadLetter, pParallelism,
			pTimeoutMs, pCleanup, pRuntimeFlags, pCustomRuntimeOptions, pProducerConfig},
		updateChecks: []updateCheck{
			inputsFixed,
			{p: pOutputSerde, msg: "Output Serde mismatch", ifNotEmpty: true},
			{p: pOutputSchema, msg: "Output Schema mismatch", ifNotEmpty: true},
			guaranteesFixed, orderingFixed, keyOrderingFixed,
			{p: pRuntime, msg: "Runtime cannot be altered"},
			autoAckFixed, subscriptionFixed,
		},
	}
	sourceRules = &kindRules{
		noun: "Source", componentType: pb.FunctionDetails_SOURCE,
		fields:    map[prop]string{pOutput: "TopicName", pOutputSerde: "SerdeClassName", pOutputSchema: "SchemaType"},
		className: identityFunctionClass, alwaysAutoAck: true, outputTopicAlways: true,
		classNotFoundMsg: "Source class %s not found in class loader",
		namesDifferMsg:   "Function Names differ",
		updateMerges: []prop{pClassName, pConfigs, pSecrets, pLogTopic, pParallelism, pArchive, pRuntimeFlags,
			pCustomRuntimeOptions, pProducerConfig},
		updateChecks: []updateCheck{guaranteesFixed},
	}
	sinkRules = &kindRules{
		noun: "Sink", componentType: pb.FunctionDetails_SINK,
		fields: map[prop]string{
			pSerdeInputs: "TopicToSerdeClassName", pSchemaInputs: "TopicToSchemaType",
			pSubName: "SourceSubscriptionName", pPosition: "SourceSubscriptionPosition",
			pNackDelayMs: "NegativeAckRedeliveryDelayMs",
		},
		className: identityFunctionClass, minRetries: 1, blankIsUnset: true, orderingFromSubscription: true,
		classNotFoundMsg:    "Sink class %s not found",
		inputsKeepGivenSpec: true, namesDifferMsg: "Sink Names differ",
		updateMerges: []prop{pClassName, pConfigs, pSecrets, pParallelism, pTimeoutMs, pCleanup, pArchive,
			pRuntimeFlags, pCustomRuntimeOptions, pLogTopic},
		updateChecks: []updateCheck{
			subscriptionFixed, inputsFixed, guaranteesFixed, orderingFixed, keyOrderingFixed, autoAckFixed,
		},
	}
)

// defaultFields are the Go field names of the shared properties where a
// kind's rules name none.
var defaultFields = map[prop]string{
	pTenant: "Tenant", pNamespace: "Namespace", pName: "Name", pLogTopic: "LogTopic", pParallelism: "Parallelism",
	pGuarantees: "ProcessingGuarantees", pRetainOrdering: "RetainOrdering", pRetainKeyOrdering: "RetainKeyOrdering",
	pAutoAck: "AutoAck", pInputs: "Inputs", pTopicsPattern: "TopicsPattern", pInputSpecs: "InputSpecs",
	pTimeoutMs: "TimeoutMs", pCleanup: "CleanupSubscription", pMaxRetries: "MaxMessageRetries",
	pDeadLetter: "DeadLetterTopic", pSecrets: "Secrets", pResources: "Resources", pRuntimeFlags: "RuntimeFlags",
	pCustomRuntimeOptions: "CustomRuntimeOptions", pClassName: "ClassName", pArchive: "Archive",
	pConfigs: "Configs", pProducerConfig: "ProducerConfig", pOutputSerde: "OutputSerdeClassName",
	pOutputSchema: "OutputSchemaType", pRuntime: "Runtime", pOutput: "Output",
}

// view is a config seen through the shared properties: a pointer to the
// kind's field, nil where the kind has none.
type view struct {
	r *kindRules
	v reflect.Value
}

func (r *kindRules) view(cfg any) view { return view{r: r, v: reflect.ValueOf(cfg).Elem()} }

func (w view) field(p prop) reflect.Value {
	name, ok := w.r.fields[p]
	if !ok {
		name = defaultFields[p]
	}
	if name == "" {
		return reflect.Value{}
	}
	return w.v.FieldByName(name) // invalid where the kind has no such field
}

// get is the field as its type (*string, *int32, map...), the zero value
// where the kind has none.
func get[T any](w view, p prop) T {
	var zero T
	if f := w.field(p); f.IsValid() {
		return f.Interface().(T)
	}
	return zero
}

// set stores v where the kind has the property.
func set[T any](w view, p prop, v T) {
	if f := w.field(p); f.IsValid() {
		f.Set(reflect.ValueOf(v))
	}
}

func (w view) str(p prop) *string { return get[*string](w, p) }
func (w view) flag(p prop) *bool  { return get[*bool](w, p) }
func (w view) i32(p prop) *int32  { return get[*int32](w, p) }
func (w view) i64(p prop) *int64  { return get[*int64](w, p) }
func (w view) has(p prop) bool    { return w.field(p).IsValid() }
func (w view) unsetOrBlank(s string) bool {
	if w.r.blankIsUnset {
		return strings.TrimSpace(s) == ""
	}
	return s == ""
}

// inputTopics are the plain inputs ([]*string for functions, []string for
// sinks); nil elements read "null" as in Java.
func (w view) inputTopics() []string {
	f := w.field(pInputs)
	if !f.IsValid() {
		return nil
	}
	out := make([]string, 0, f.Len())
	for i := 0; i < f.Len(); i++ {
		switch t := f.Index(i).Interface().(type) {
		case string:
			out = append(out, t)
		case *string:
			out = append(out, strOrNull(t))
		}
	}
	return out
}

// --- to FunctionDetails ------------------------------------------------------

// details is the shared part of convert: everything but the kind's own
// source class, sink, user config and window.
func (w view) details() (*pb.FunctionDetails, error) {
	r := w.r
	fd := &pb.FunctionDetails{
		Tenant:               str(w.str(pTenant)),
		Namespace:            str(w.str(pNamespace)),
		Name:                 str(w.str(pName)),
		LogTopic:             str(w.str(pLogTopic)),
		Parallelism:          1,
		ClassName:            r.className,
		ProcessingGuarantees: guarantee(w.str(pGuarantees)),
		RetainOrdering:       isTrue(w.flag(pRetainOrdering)),
		RetainKeyOrdering:    isTrue(w.flag(pRetainKeyOrdering)),
		Resources:            resourcesSpec(get[*resourcesConfig](w, pResources)),
		RuntimeFlags:         str(w.str(pRuntimeFlags)),
		ComponentType:        r.componentType,
		CustomRuntimeOptions: str(w.str(pCustomRuntimeOptions)),
	}
	if p := w.i32(pParallelism); p != nil {
		fd.Parallelism = *p
	}
	if r.className != "" {
		fd.Runtime = pb.FunctionDetails_JAVA
	}
	autoAck := w.flag(pAutoAck)
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	fd.AutoAck = r.alwaysAutoAck || autoAck == nil || *autoAck
	if n := w.i32(pMaxRetries); n != nil && *n >= r.minRetries {
		fd.RetryDetails = &pb.RetryDetails{MaxMessageRetries: *n}
		if dl := str(w.str(pDeadLetter)); !w.unsetOrBlank(dl) {
			fd.RetryDetails.DeadLetterTopic = dl
		}
	}
	if s := get[map[string]any](w, pSecrets); len(s) > 0 {
		fd.SecretsMap = jackson.GsonJSON(s)
	}
	if w.has(pInputs) {
		src, err := w.sourceSpec()
		if err != nil {
			return nil, err
		}
		fd.Source = src
	}
	return fd, nil
}

// sourceSpec is the consuming side: input specs and subscription.
func (w view) sourceSpec() (*pb.SourceSpec, error) {
	specs, err := w.consumerSpecs()
	if err != nil {
		return nil, err
	}
	src := &pb.SourceSpec{InputSpecs: specs}
	retainOrdering, retainKeyOrdering := w.flag(pRetainOrdering), w.flag(pRetainKeyOrdering)
	switch {
	case isTrue(retainOrdering) || str(w.str(pGuarantees)) == "EFFECTIVELY_ONCE":
		src.SubscriptionType = pb.SubscriptionType_FAILOVER
	case isTrue(retainKeyOrdering):
		src.SubscriptionType = pb.SubscriptionType_KEY_SHARED
	default:
		src.SubscriptionType = pb.SubscriptionType_SHARED
	}
	if sub := w.str(pSubName); !isBlank(sub) {
		src.SubscriptionName = *sub
	}
	if str(w.str(pPosition)) == "Earliest" {
		src.SubscriptionPosition = pb.SubscriptionPosition_EARLIEST
	}
	if t := w.i64(pTimeoutMs); t != nil {
		src.TimeoutMs = uint64(*t)
		if w.r.nackFromTimeout {
			// Negative acks track failures fast.
			src.NegativeAckRedeliveryDelayMs = uint64(*t)
		}
	}
	if d := w.i64(pNackDelayMs); d != nil && *d > 0 {
		src.NegativeAckRedeliveryDelayMs = uint64(*d)
	}
	cleanup := w.flag(pCleanup)
	src.CleanupSubscription = cleanup == nil || *cleanup
	return src, nil
}

// consumerSpecs are the input specs, built in Java's order: inputs, the
// pattern, serde inputs, schema inputs, inputSpecs (later ones win).
func (w view) consumerSpecs() (map[string]*pb.ConsumerSpec, error) {
	out := map[string]*pb.ConsumerSpec{}
	for _, t := range w.inputTopics() {
		out[t] = &pb.ConsumerSpec{}
	}
	if p := w.str(pTopicsPattern); !isEmpty(p) {
		out[*p] = &pb.ConsumerSpec{IsRegexPattern: true}
	}
	serde := get[map[string]string](w, pSerdeInputs)
	for _, t := range sortedKeys(serde) {
		out[t] = &pb.ConsumerSpec{SerdeClassName: serde[t]}
	}
	schema := get[map[string]string](w, pSchemaInputs)
	for _, t := range sortedKeys(schema) {
		if !w.r.schemaInputsAreConsumerConfigs {
			out[t] = &pb.ConsumerSpec{SchemaType: schema[t]}
			continue
		}
		var cc consumerConfig
		isNull, err := jackson.Decode([]byte(schema[t]), consumerSchema, &cc)
		if err != nil || isNull {
			return nil, Invalid("Incorrect custom schema inputs,Topic %s ", t)
		}
		out[t] = &pb.ConsumerSpec{
			SchemaType:         str(cc.SchemaType),
			SchemaProperties:   copyMap(cc.SchemaProperties),
			ConsumerProperties: copyMap(cc.ConsumerProperties),
		}
	}
	specs := get[map[string]*consumerConfig](w, pInputSpecs)
	for _, t := range sortedKeys(specs) {
		cc := specs[t]
		spec := &pb.ConsumerSpec{IsRegexPattern: cc.RegexPattern, PoolMessages: cc.PoolMessages}
		if !isBlank(cc.SchemaType) {
			spec.SchemaType = *cc.SchemaType
		} else if !isBlank(cc.SerdeClassName) {
			spec.SerdeClassName = *cc.SerdeClassName
		}
		if cc.ReceiverQueueSize != nil {
			spec.ReceiverQueueSize = &pb.ConsumerSpec_ReceiverQueueSize{Value: *cc.ReceiverQueueSize}
		}
		if w.r.specSchemaProperties {
			spec.SchemaProperties = copyMap(cc.SchemaProperties)
		}
		if cc.CryptoConfig != nil {
			spec.CryptoSpec = cc.CryptoConfig.toSpec()
		}
		spec.ConsumerProperties = copyMap(cc.ConsumerProperties)
		out[t] = spec
	}
	return out, nil
}

// --- from FunctionDetails ----------------------------------------------------

// fromDetails is the shared part of convertFromDetails.
func (w view) fromDetails(fd *pb.FunctionDetails) error {
	r := w.r
	set(w, pTenant, ptr(fd.GetTenant()))
	set(w, pNamespace, ptr(fd.GetNamespace()))
	set(w, pName, ptr(fd.GetName()))
	set(w, pParallelism, ptr(fd.GetParallelism()))
	set(w, pGuarantees, ptr(fd.GetProcessingGuarantees().String()))
	if fd.GetLogTopic() != "" {
		set(w, pLogTopic, ptr(fd.GetLogTopic()))
	}
	if s := fd.GetSecretsMap(); s != "" {
		m, err := jackson.ParseGsonMap(s)
		if err != nil {
			return fmt.Errorf("secretsMap of %s: %w", fqfnOf(fd.GetTenant(), fd.GetNamespace(), fd.GetName()), err)
		}
		set(w, pSecrets, m)
	}
	set(w, pResources, resourcesFromSpec(fd))
	if f := fd.GetRuntimeFlags(); !w.unsetOrBlank(f) {
		set(w, pRuntimeFlags, ptr(f))
	}
	if o := fd.GetCustomRuntimeOptions(); o != "" {
		set(w, pCustomRuntimeOptions, ptr(o))
	}
	if !w.has(pInputs) {
		return nil
	}
	//lint:ignore SA1019 autoAck is deprecated in Pulsar's Function.proto, yet Java's worker and instances still read and write it
	set(w, pAutoAck, ptr(fd.GetAutoAck()))
	if rd := fd.GetRetryDetails(); rd != nil {
		set(w, pMaxRetries, ptr(rd.GetMaxMessageRetries()))
		if !w.unsetOrBlank(rd.GetDeadLetterTopic()) {
			set(w, pDeadLetter, ptr(rd.GetDeadLetterTopic()))
		}
	}
	src := fd.GetSource()
	specs, err := r.consumerConfigs(src.GetInputSpecs())
	if err != nil {
		return err
	}
	set(w, pInputSpecs, specs)
	if src.GetSubscriptionName() != "" {
		set(w, pSubName, ptr(src.GetSubscriptionName()))
	}
	retainOrdering, retainKeyOrdering := fd.GetRetainOrdering(), fd.GetRetainKeyOrdering()
	if r.orderingFromSubscription {
		retainOrdering = src.GetSubscriptionType() == pb.SubscriptionType_FAILOVER
		retainKeyOrdering = src.GetSubscriptionType() == pb.SubscriptionType_KEY_SHARED
	}
	set(w, pRetainOrdering, ptr(retainOrdering))
	set(w, pRetainKeyOrdering, ptr(retainKeyOrdering))
	set(w, pCleanup, ptr(src.GetCleanupSubscription()))
	position := "Latest"
	if src.GetSubscriptionPosition() == pb.SubscriptionPosition_EARLIEST {
		position = "Earliest"
	}
	set(w, pPosition, ptr(position))
	if src.GetTimeoutMs() != 0 {
		set(w, pTimeoutMs, ptr(int64(src.GetTimeoutMs())))
	}
	if d := src.GetNegativeAckRedeliveryDelayMs(); d > 0 {
		set(w, pNackDelayMs, ptr(int64(d)))
	}
	return nil
}

// outputFromDetails reads the producing side back (functions, sources).
func (w view) outputFromDetails(sink *pb.SinkSpec) error {
	if t := sink.GetTopic(); t != "" || w.r.outputTopicAlways {
		set(w, pOutput, ptr(t))
	}
	if s := sink.GetSerDeClassName(); s != "" {
		set(w, pOutputSerde, ptr(s))
	}
	if s := sink.GetSchemaType(); s != "" {
		set(w, pOutputSchema, ptr(s))
	}
	pc, err := producerFromSpec(sink.GetProducerSpec())
	if err != nil {
		return err
	}
	set(w, pProducerConfig, pc)
	return nil
}

// consumerConfigs reads the input specs back as ConsumerConfigs.
func (r *kindRules) consumerConfigs(specs map[string]*pb.ConsumerSpec) (map[string]*consumerConfig, error) {
	out := make(map[string]*consumerConfig, len(specs))
	for topic, spec := range specs {
		cc := builtConsumerConfig(spec.GetIsRegexPattern())
		if spec.GetSerdeClassName() != "" {
			cc.SerdeClassName = ptr(spec.GetSerdeClassName())
		}
		if spec.GetSchemaType() != "" {
			cc.SchemaType = ptr(spec.GetSchemaType())
		}
		if spec.GetReceiverQueueSize() != nil {
			cc.ReceiverQueueSize = ptr(spec.GetReceiverQueueSize().GetValue())
		}
		if spec.GetCryptoSpec() != nil {
			c, err := cryptoFromSpec(spec.GetCryptoSpec())
			if err != nil {
				return nil, err
			}
			cc.CryptoConfig = c
		}
		props, into := spec.GetConsumerProperties(), cc.ConsumerProperties
		if r.specSchemaProperties {
			props, into = spec.GetSchemaProperties(), cc.SchemaProperties
		}
		for k, v := range props {
			into[k] = v
		}
		cc.PoolMessages = spec.GetPoolMessages()
		out[topic] = cc
	}
	return out, nil
}

// --- validateUpdate ----------------------------------------------------------

// updateCheck is one of validateUpdate's refusals: the update may not
// change p (ifNotEmpty: a non-empty new value must be the old one; else a
// set new value must be the old one); or, with inputs, the input specs are
// merged here (mergeInputSpecs).
type updateCheck struct {
	p          prop
	msg        string
	ifNotEmpty bool
	inputs     bool
}

func (c updateCheck) check(r *kindRules, e, n, merged view) error {
	if c.inputs {
		return r.mergeInputSpecs(e, n, merged)
	}
	nf, ef := n.field(c.p), e.field(c.p)
	if !nf.IsValid() || nf.IsNil() {
		return nil
	}
	if c.ifNotEmpty {
		if s := *nf.Interface().(*string); s != "" && s != strOrNull(ef.Interface().(*string)) {
			return Invalid("%s", c.msg)
		}
		return nil
	}
	if ef.IsNil() || nf.Elem().Interface() != ef.Elem().Interface() {
		return Invalid("%s", c.msg)
	}
	return nil
}

// update is the shared part of validateUpdate: newConfig (n) onto merged,
// a copy of existing (e), with the kind's merges and checks; the caller
// adds what only its kind has.
func (r *kindRules) update(e, n, merged view) error {
	switch {
	case str(e.str(pTenant)) != str(n.str(pTenant)):
		return Invalid("Tenants differ")
	case str(e.str(pNamespace)) != str(n.str(pNamespace)):
		return Invalid("Namespaces differ")
	case str(e.str(pName)) != str(n.str(pName)):
		return Invalid("%s", r.namesDifferMsg)
	}
	for _, c := range r.updateChecks {
		if err := c.check(r, e, n, merged); err != nil {
			return err
		}
	}
	for _, p := range r.updateMerges {
		f := n.field(p)
		if !f.IsValid() || f.IsNil() {
			continue
		}
		if s, ok := f.Interface().(*string); ok && *s == "" {
			continue
		}
		merged.field(p).Set(f)
	}
	if res := get[*resourcesConfig](n, pResources); res != nil {
		set(merged, pResources, mergeResources(get[*resourcesConfig](e, pResources), res))
	}
	return nil
}

// mergeInputSpecs lets an update change the specs of existing inputs, not
// the inputs themselves.
func (r *kindRules) mergeInputSpecs(e, n, merged view) error {
	if !n.has(pInputs) {
		return nil
	}
	given := get[map[string]*consumerConfig](n, pInputSpecs)
	specs := make(map[string]*consumerConfig, len(given))
	for k, v := range given {
		specs[k] = v
	}
	for _, t := range n.inputTopics() {
		if _, ok := specs[t]; !ok || !r.inputsKeepGivenSpec {
			specs[t] = builtConsumerConfig(false)
		}
	}
	if p := n.str(pTopicsPattern); !isEmpty(p) {
		specs[*p] = builtConsumerConfig(true)
	}
	for t, serde := range get[map[string]string](n, pSerdeInputs) {
		cc := builtConsumerConfig(false)
		cc.SerdeClassName = ptr(serde)
		specs[t] = cc
	}
	for t, schema := range get[map[string]string](n, pSchemaInputs) {
		cc := builtConsumerConfig(false)
		cc.SchemaType = ptr(schema)
		specs[t] = cc
	}
	existing := get[map[string]*consumerConfig](e, pInputSpecs)
	into := get[map[string]*consumerConfig](merged, pInputSpecs)
	if into == nil {
		into = map[string]*consumerConfig{}
		set(merged, pInputSpecs, into)
	}
	for _, t := range sortedKeys(specs) {
		cur, ok := existing[t]
		if !ok {
			return Invalid("Input Topics cannot be altered")
		}
		if specs[t].RegexPattern != cur.RegexPattern {
			return Invalid("isRegexPattern for input topic %s cannot be altered", t)
		}
		into[t] = specs[t]
	}
	return nil
}

// builtConsumerConfig is ConsumerConfig.builder()...build(): its property
// maps start empty.
func builtConsumerConfig(regex bool) *consumerConfig {
	return &consumerConfig{SchemaProperties: map[string]string{}, ConsumerProperties: map[string]string{}, RegexPattern: regex}
}

// updateOf is the copy of existing an update is merged onto: a deep enough
// copy (Java clones through JSON), configs and secrets typed as Jackson
// types them.
func (r *kindRules) updateOf(existing any) any {
	b, _ := json.Marshal(existing)
	out := reflect.New(reflect.TypeOf(existing).Elem())
	_ = json.Unmarshal(b, out.Interface())
	w := r.view(out.Interface())
	for _, p := range []prop{pConfigs, pSecrets} {
		set(w, p, typedAnyMap(get[map[string]any](w, p)))
	}
	return out.Interface()
}

// forResponse types a connector's configs and secrets as Jackson prints
// them.
func (r *kindRules) forResponse(cfg any) {
	w := r.view(cfg)
	for _, p := range []prop{pConfigs, pSecrets} {
		set(w, p, jacksonMap(get[map[string]any](w, p)))
	}
}
