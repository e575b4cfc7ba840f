package sidebyside

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// step is one pulsar-admin command run on both sides, with what to wait for
// after it and what to observe.
type step struct {
	name      string
	args      []string                       // pulsar-admin's arguments; {ns}, {dir}, {jar}... are the side's
	http      string                         // or a REST request, "METHOD /path", instead of pulsar-admin
	after     func(*testing.T, *side)        // waits for the command's consequences
	effect    func(*testing.T, *side) string // what really happened, compared between the sides
	mask      []string                       // JSON members whose values are volatile in this step
	unordered bool                           // the output is a listing in no particular order
	norm      func(string) string            // a further normalization of this step's output
	fatal     bool                           // later steps depend on this one
}

// cmd builds a step's arguments from one line; an argument holding spaces
// (JSON) is given separately with its flag: cmd("functions get", "--fqfn", x).
func cmd(words string, rest ...string) []string {
	return append(strings.Fields(words), rest...)
}

const (
	exclamation = "org.apache.pulsar.functions.api.examples.ExclamationFunction"
	fqfn        = "public/{ns}/exclaim"
	topic       = "persistent://public/{ns}/"
)

// fn is the arguments naming function name in the side's namespace.
func fn(name string) string { return "--tenant public --namespace {ns} --name " + name }

// steps is the side-by-side suite, in order: later steps use what earlier
// ones created.
func steps() []step {
	var s []step
	add := func(st ...step) { s = append(s, st...) }

	// The cluster of one worker each side.
	add(
		step{name: "worker/get-cluster", args: cmd("functions-worker get-cluster")},
		step{name: "worker/get-cluster-leader", args: cmd("functions-worker get-cluster-leader")},
		step{name: "worker/get-function-assignments-empty", args: cmd("functions-worker get-function-assignments"), norm: sortBracketed},
		step{name: "functions/list-empty", args: cmd("functions list --tenant public --namespace {ns}")},
	)

	// A Java function with the flags users pass, its lifecycle, state,
	// trigger and packages.
	add(
		step{name: "functions/create-java", fatal: true,
			args: cmd("functions create --jar {jar} --classname "+exclamation+" "+fn("exclaim")+
				" --inputs "+topic+"exclaim-in --output "+topic+"exclaim-out --log-topic "+topic+"exclaim-log"+
				" --subs-name exclaim-sub --subs-position Earliest --dead-letter-topic "+topic+"exclaim-dlq --max-message-retries 2",
				"--user-config", `{"greeting":"hello","count":3}`),
			after:  running("function", "exclaim", 1),
			effect: roundTrip(topic+"exclaim-in", topic+"exclaim-out", "a", "b", "c")},
		step{name: "functions/get", args: cmd("functions get " + fn("exclaim"))},
		step{name: "functions/get-fqfn", args: cmd("functions get --fqfn " + fqfn)},
		step{name: "functions/list", args: cmd("functions list --tenant public --namespace {ns}"), unordered: true},
		step{name: "functions/status", args: cmd("functions status --fqfn " + fqfn)},
		step{name: "functions/status-instance", args: cmd("functions status --fqfn " + fqfn + " --instance-id 0")},
		step{name: "functions/stats", args: cmd("functions stats --fqfn " + fqfn)},
		step{name: "functions/stats-instance", args: cmd("functions stats --fqfn " + fqfn + " --instance-id 0")},
		// The legacy paths older clients and scripts still use.
		step{name: "legacy/v2-list", http: "GET /admin/v2/functions/public/{ns}"},
		step{name: "legacy/v2-get", http: "GET /admin/v2/functions/public/{ns}/exclaim"},
		step{name: "legacy/v2-status", http: "GET /admin/v2/functions/public/{ns}/exclaim/status"},
		step{name: "legacy/v2-instance-status", http: "GET /admin/v2/functions/public/{ns}/exclaim/0/status"},
		step{name: "legacy/v2-get-missing", http: "GET /admin/v2/functions/public/{ns}/missing"},
		step{name: "legacy/v1-list", http: "GET /admin/functions/public/{ns}"},
		step{name: "functions/trigger-value", args: cmd("functions trigger --fqfn " + fqfn + " --trigger-value hello")},
		step{name: "functions/trigger-file", args: cmd("functions trigger --fqfn " + fqfn + " --trigger-file {dir}/trigger.txt")},
		step{name: "functions/putstate", args: cmd("functions putstate --fqfn "+fqfn+" --state", `{"key":"k1","stringValue":"v1"}`)},
		step{name: "functions/querystate", args: cmd("functions querystate --fqfn " + fqfn + " --key k1")},
		step{name: "functions/putstate-counter", args: cmd("functions putstate --fqfn "+fqfn+" --state", `{"key":"k2","numberValue":5}`)},
		step{name: "functions/querystate-counter", args: cmd("functions querystate --fqfn " + fqfn + " --key k2")},
		step{name: "functions/querystate-missing-key", args: cmd("functions querystate --fqfn " + fqfn + " --key nope")},
		step{name: "functions/update-user-config", args: cmd("functions update --fqfn "+fqfn+" --user-config", `{"greeting":"bye"}`),
			after: running("function", "exclaim", 1), effect: roundTrip(topic+"exclaim-in", topic+"exclaim-out", "d")},
		step{name: "functions/get-after-update", args: cmd("functions get --fqfn " + fqfn)},
		step{name: "functions/download-by-name", args: cmd("functions download " + fn("exclaim") + " --destination-file {dir}/exclaim.jar"),
			effect: fileDigest("{dir}/exclaim.jar", "{jar}")},
		step{name: "functions/upload-path", args: cmd("functions upload --source-file {dir}/upload.bin --path function://public/{ns}/pkg@1")},
		step{name: "functions/download-path", args: cmd("functions download --path function://public/{ns}/pkg@1 --destination-file {dir}/pkg.out"),
			effect: fileDigest("{dir}/pkg.out", "{dir}/upload.bin")},
		step{name: "functions/download-missing-path", args: cmd("functions download --path function://public/{ns}/nothing@1 --destination-file {dir}/nothing.out"),
			effect: fileDigest("{dir}/nothing.out", "{dir}/upload.bin")},
	)

	// The lifecycle, on a Go function (cheap to restart: a Java instance
	// costs a JVM start each time).
	const golife = "public/{ns}/golife"
	add(
		step{name: "lifecycle/create", fatal: true,
			args:  cmd("functions create --go {gofn} " + fn("golife") + " --inputs " + topic + "golife-in --output " + topic + "golife-out"),
			after: running("function", "golife", 1), effect: processes("golife")},
		step{name: "lifecycle/update-parallelism", args: cmd("functions update --fqfn " + golife + " --parallelism 2"),
			after: running("function", "golife", 2), effect: processes("golife")},
		step{name: "lifecycle/stop-instance", args: cmd("functions stop --fqfn " + golife + " --instance-id 1"),
			after: func(t *testing.T, s *side) { waitProcesses(t, s, "golife", []int{0}) }, effect: processes("golife")},
		step{name: "lifecycle/status-one-stopped", args: cmd("functions status --fqfn " + golife)},
		step{name: "lifecycle/start-instance", args: cmd("functions start --fqfn " + golife + " --instance-id 1"),
			after: running("function", "golife", 2), effect: processes("golife")},
		step{name: "lifecycle/restart-instance", args: cmd("functions restart --fqfn " + golife + " --instance-id 0"),
			after: running("function", "golife", 2)},
		step{name: "lifecycle/restart-missing-instance", args: cmd("functions restart --fqfn " + golife + " --instance-id 7")},
		step{name: "lifecycle/stop-missing-instance", args: cmd("functions stop --fqfn " + golife + " --instance-id 7")},
		step{name: "lifecycle/stop", args: cmd("functions stop --fqfn " + golife),
			after: stoppedInstances("function", "golife", 2), effect: processes("golife")},
		step{name: "lifecycle/status-stopped", args: cmd("functions status --fqfn " + golife)},
		step{name: "lifecycle/start", args: cmd("functions start --fqfn " + golife),
			after: running("function", "golife", 2), effect: processes("golife")},
		step{name: "lifecycle/restart", args: cmd("functions restart --fqfn " + golife),
			after:  running("function", "golife", 2),
			effect: roundTrip(topic+"golife-in", topic+"golife-out", "x", "y", "z")},
		step{name: "lifecycle/status", args: cmd("functions status --fqfn " + golife), mask: []string{"numReceived", "numSuccessfullyProcessed"}},
		step{name: "lifecycle/delete", args: cmd("functions delete --fqfn " + golife), after: gone("function", "golife"), effect: processes("golife")},
	)

	// Error cases.
	add(
		step{name: "errors/create-existing", args: cmd("functions create --jar {jar} --classname " + exclamation + " " + fn("exclaim") + " --inputs " + topic + "x")},
		step{name: "errors/get-missing", args: cmd("functions get " + fn("missing"))},
		step{name: "errors/status-missing", args: cmd("functions status " + fn("missing"))},
		step{name: "errors/stats-missing", args: cmd("functions stats " + fn("missing"))},
		step{name: "errors/update-missing", args: cmd("functions update --jar {jar} --classname " + exclamation + " " + fn("missing") + " --inputs " + topic + "x")},
		step{name: "errors/delete-missing", args: cmd("functions delete " + fn("missing"))},
		step{name: "errors/create-missing-tenant", args: cmd("functions create --jar {jar} --classname " + exclamation + " --tenant nosuchtenant --namespace {ns} --name f --inputs persistent://nosuchtenant/{ns}/x")},
		step{name: "errors/create-missing-namespace", args: cmd("functions create --jar {jar} --classname " + exclamation + " --tenant public --namespace nosuchns --name f --inputs persistent://public/nosuchns/x")},
		step{name: "errors/create-invalid-name", args: cmd("functions create --jar {jar} --classname " + exclamation + " " + fn("bad@name") + " --inputs " + topic + "x")},
		step{name: "errors/create-no-inputs", args: cmd("functions create --jar {jar} --classname " + exclamation + " " + fn("noinputs"))},
		step{name: "errors/create-bad-guarantee", args: cmd("functions create --jar {jar} --classname " + exclamation + " " + fn("badg") + " --inputs " + topic + "x --processing-guarantees SOMETIMES")},
		step{name: "errors/create-class-not-in-jar", args: cmd("functions create --jar {jar} --classname org.example.NoSuchFunction " + fn("noclass") + " --inputs " + topic + "x")},
		step{name: "errors/create-no-package", args: cmd("functions create --classname " + exclamation + " " + fn("nopkg") + " --inputs " + topic + "x")},
		step{name: "errors/upload-invalid-path", args: cmd("functions upload --source-file {dir}/upload.bin --path public/{ns}/x")},
	)

	// Configurations created, read back and deleted: what each worker
	// stores for the flags users pass.
	add(configCase("go-atmost-once", "--go {gofn} --inputs "+topic+"g1-in --output "+topic+"g1-out --processing-guarantees ATMOST_ONCE")...)
	add(configCase("go-effectively-once", "--go {gofn} --inputs "+topic+"g2-in --output "+topic+"g2-out --processing-guarantees EFFECTIVELY_ONCE --retain-ordering")...)
	add(configCase("go-timeout-no-autoack", "--go {gofn} --inputs "+topic+"g3-in --output "+topic+"g3-out --processing-guarantees ATLEAST_ONCE --timeout-ms 5000 --auto-ack false --max-message-retries 3 --dead-letter-topic "+topic+"g3-dlq")...)
	add(configCase("go-topics-pattern", "--go {gofn} --topics-pattern "+topic+"pat-.* --output "+topic+"g4-out")...)
	add(configCase("go-producer-config", "--go {gofn} --inputs "+topic+"g5-in --output "+topic+"g5-out --producer-config",
		`{"maxPendingMessages":100,"maxPendingMessagesAcrossPartitions":1000,"batchBuilder":"KEY_BASED","compressionType":"LZ4"}`)...)
	add(configCase("go-resources", "--go {gofn} --inputs "+topic+"g6-in --cpu 0.5 --ram 268435456 --disk 1073741824")...)
	add(configCase("go-secrets", "--go {gofn} --inputs "+topic+"g7-in --secrets", `{"password":"db-password","token":"api-token"}`)...)
	add(configCase("java-custom-serde", "--jar {jar} --classname "+exclamation+" --output "+topic+"j1-out --custom-serde-inputs",
		`{"`+topic+`j1-in":"org.apache.pulsar.functions.api.examples.CustomBaseSerde"}`)...)
	add(configCase("java-custom-schema", "--jar {jar} --classname "+exclamation+" --output "+topic+"j2-out --schema-type STRING --custom-schema-inputs",
		`{"`+topic+`j2-in":"STRING"}`)...)
	add(configCase("java-window-count", "--jar {jar} --classname org.apache.pulsar.functions.api.examples.AddWindowFunction --inputs "+topic+"j3-in --output "+topic+"j3-out --window-length-count 10 --sliding-interval-count 5")...)
	add(configCase("java-window-duration", "--jar {jar} --classname org.apache.pulsar.functions.api.examples.WindowDurationFunction --inputs "+topic+"j4-in --output "+topic+"j4-out --window-length-duration-ms 10000 --sliding-interval-duration-ms 5000")...)
	add(
		step{name: "config/function-config-file/create", args: cmd("functions create --jar {jar} --function-config-file {dir}/function-config.yaml")},
		step{name: "config/function-config-file/get", args: cmd("functions get --fqfn public/{ns}/fromfile")},
		step{name: "config/function-config-file/delete", args: cmd("functions delete --fqfn public/{ns}/fromfile"), after: gone("function", "fromfile")},
	)

	// A Go binary and a Python zip with a dependency, run.
	add(
		step{name: "functions/create-go", args: cmd("functions create --go {gofn} " + fn("gofn") + " --inputs " + topic + "gofn-in --output " + topic + "gofn-out"),
			after: running("function", "gofn", 1), effect: roundTrip(topic+"gofn-in", topic+"gofn-out", "x", "y")},
		step{name: "functions/create-python-zip", args: cmd("functions create --py {pyzip} --classname shout_function.Shout " + fn("pyzip") + " --inputs " + topic + "pyzip-in --output " + topic + "pyzip-out"),
			after: running("function", "pyzip", 1), effect: roundTrip(topic+"pyzip-in", topic+"pyzip-out", "quiet")},
		step{name: "functions/create-python", args: cmd("functions create --py {py}/exclamation_function.py --classname exclamation_function.ExclamationFunction " + fn("pyfile") + " --inputs " + topic + "pyfile-in --output " + topic + "pyfile-out"),
			after: running("function", "pyfile", 1), effect: roundTrip(topic+"pyfile-in", topic+"pyfile-out", "p")},
	)

	// The cluster with functions running.
	add(
		step{name: "worker/get-function-assignments", args: cmd("functions-worker get-function-assignments"), norm: sortBracketed},
		step{name: "worker/function-stats", args: cmd("functions-worker function-stats"),
			mask: []string{"receivedTotal", "processedSuccessfullyTotal", "systemExceptionsTotal", "userExceptionsTotal", "avgProcessLatency"}},
		step{name: "worker/rebalance", args: cmd("functions-worker rebalance"), after: running("function", "gofn", 1)},
		step{name: "functions/available-functions", args: cmd("functions available-functions")},
		step{name: "functions/reload", args: cmd("functions reload")},
	)

	// Sources and sinks: the built-in data generator.
	add(
		step{name: "sources/available-sources", args: cmd("sources available-sources")},
		step{name: "sources/create", args: cmd("sources create --source-type data-generator --tenant public --namespace {ns} --name gen --destination-topic-name "+topic+"gen-out --source-config", `{"sleepBetweenMessages":"500"}`),
			after: running("source", "gen", 1), effect: processes("gen")},
		step{name: "sources/get", args: cmd("sources get --tenant public --namespace {ns} --name gen")},
		step{name: "sources/list", args: cmd("sources list --tenant public --namespace {ns}"), unordered: true},
		// A generating source's counters grow with the time it ran.
		step{name: "sources/status", args: cmd("sources status --tenant public --namespace {ns} --name gen"),
			mask: []string{"numReceivedFromSource", "numWritten"}},
		step{name: "sources/update", args: cmd("sources update --tenant public --namespace {ns} --name gen --source-config", `{"sleepBetweenMessages":"1000"}`),
			after: running("source", "gen", 1)},
		step{name: "sources/get-after-update", args: cmd("sources get --tenant public --namespace {ns} --name gen")},
		step{name: "sources/stop", args: cmd("sources stop --tenant public --namespace {ns} --name gen"), after: stoppedInstances("source", "gen", 1)},
		step{name: "sources/start", args: cmd("sources start --tenant public --namespace {ns} --name gen"), after: running("source", "gen", 1)},
		step{name: "sources/restart", args: cmd("sources restart --tenant public --namespace {ns} --name gen"), after: running("source", "gen", 1)},
		step{name: "sources/restart-missing-instance", args: cmd("sources restart --tenant public --namespace {ns} --name gen --instance-id 5")},
		step{name: "sources/get-missing", args: cmd("sources get --tenant public --namespace {ns} --name nosource")},
		step{name: "sources/create-unknown-type", args: cmd("sources create --source-type no-such-connector --tenant public --namespace {ns} --name bad --destination-topic-name " + topic + "bad")},
		step{name: "sources/reload", args: cmd("sources reload")},
		step{name: "sources/delete", args: cmd("sources delete --tenant public --namespace {ns} --name gen"), after: gone("source", "gen")},

		step{name: "sinks/available-sinks", args: cmd("sinks available-sinks")},
		step{name: "sinks/create", args: cmd("sinks create --sink-type data-generator --tenant public --namespace {ns} --name print --inputs " + topic + "print-in"),
			after: running("sink", "print", 1), effect: processes("print")},
		step{name: "sinks/get", args: cmd("sinks get --tenant public --namespace {ns} --name print")},
		step{name: "sinks/list", args: cmd("sinks list --tenant public --namespace {ns}"), unordered: true},
		step{name: "sinks/status", args: cmd("sinks status --tenant public --namespace {ns} --name print"),
			mask: []string{"numReadFromPulsar", "numWrittenToSink"}},
		step{name: "sinks/update", args: cmd("sinks update --tenant public --namespace {ns} --name print --parallelism 2"),
			after: running("sink", "print", 2), effect: processes("print")},
		step{name: "sinks/stop", args: cmd("sinks stop --tenant public --namespace {ns} --name print"), after: stoppedInstances("sink", "print", 2)},
		step{name: "sinks/start", args: cmd("sinks start --tenant public --namespace {ns} --name print"), after: running("sink", "print", 2)},
		step{name: "sinks/restart", args: cmd("sinks restart --tenant public --namespace {ns} --name print"), after: running("sink", "print", 2)},
		step{name: "sinks/restart-missing-instance", args: cmd("sinks restart --tenant public --namespace {ns} --name print --instance-id 9")},
		step{name: "sinks/get-missing", args: cmd("sinks get --tenant public --namespace {ns} --name nosink")},
		step{name: "sinks/create-no-inputs", args: cmd("sinks create --sink-type data-generator --tenant public --namespace {ns} --name noin")},
		step{name: "sinks/reload", args: cmd("sinks reload")},
		step{name: "sinks/delete", args: cmd("sinks delete --tenant public --namespace {ns} --name print"), after: gone("sink", "print")},
	)

	// Everything deleted.
	add(
		step{name: "functions/delete", args: cmd("functions delete --fqfn " + fqfn), after: gone("function", "exclaim"), effect: processes("exclaim")},
		step{name: "functions/delete-go", args: cmd("functions delete " + fn("gofn")), after: gone("function", "gofn")},
		step{name: "functions/delete-python-zip", args: cmd("functions delete " + fn("pyzip")), after: gone("function", "pyzip")},
		step{name: "functions/delete-python", args: cmd("functions delete " + fn("pyfile")), after: gone("function", "pyfile")},
		step{name: "functions/list-after-delete", args: cmd("functions list --tenant public --namespace {ns}")},
		step{name: "worker/get-function-assignments-after-delete", args: cmd("functions-worker get-function-assignments"), norm: sortBracketed},
	)
	return s
}

// configCase is three steps: create a function with flags (in the side's
// namespace, named after the case), read its configuration back, delete it
// (through REST: pulsar-admin's delete is compared elsewhere, and each
// pulsar-admin run costs a JVM).
func configCase(name, flags string, jsonArg ...string) []step {
	create := append(cmd("functions create "+fn(name)+" "+flags), jsonArg...)
	return []step{
		{name: "config/" + name + "/create", args: create},
		{name: "config/" + name + "/get", args: cmd("functions get " + fn(name))},
		{name: "config/" + name + "/delete", http: "DELETE /admin/v3/functions/public/{ns}/" + name, after: gone("function", name)},
	}
}

// waitProcesses waits until exactly the given instances of name run as
// processes.
func waitProcesses(t *testing.T, s *side, name string, want []int) {
	err := poll(2*time.Minute, func() error {
		if got := instanceProcesses(s, name); !slices.Equal(got, want) {
			return fmt.Errorf("instances %v run", got)
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s worker: %s instances %v: %v", s.kind, name, want, err)
	}
}
