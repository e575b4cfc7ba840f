package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Java worker's JVM: a bounded heap (the distribution's default pre-touches
// 2 GB, which takes minutes on a loaded 2-core machine) and the serial
// collector's small footprint. PFW_JAVA_WORKER_MEM overrides it.
const javaWorkerMem = "-Xms128m -Xmx384m -XX:MaxDirectMemorySize=256m"

// RequireJavaWorkers checks that Java functions workers of the pinned
// distribution can run beside ours on the shared standalone: the
// distribution's bin/pulsar, java on PATH, and the metadata store the Java
// worker needs (the standalone in ZooKeeper mode, PULSAR_METADATA_STORE_URL).
// Without them the test is skipped locally, saying why, and fails under
// CI=true.
func (p Pulsar) RequireJavaWorkers(t testing.TB) {
	t.Helper()
	if p.Home == "" {
		Unavailable(t, "PULSAR_HOME is unset: Java functions workers run from the distribution's bin/pulsar")
	}
	if _, err := os.Stat(filepath.Join(p.Home, "bin", "pulsar")); err != nil {
		Unavailable(t, "no Java functions worker: "+err.Error())
	}
	if _, err := exec.LookPath("java"); err != nil {
		Unavailable(t, "no Java functions worker: java is not on PATH")
	}
	if os.Getenv("PULSAR_METADATA_STORE_URL") == "" {
		Unavailable(t, "no metadata store for a Java functions worker: PULSAR_METADATA_STORE_URL unset (`make test` starts the standalone in ZooKeeper mode with PFW_PULSAR_STREAM_STORAGE=1)")
	}
}

// JavaWorkerConfig writes a functions_worker.yml for one Java worker: the
// distribution's own conf/functions_worker.yml with its id, port and
// directories, the shared standalone, the process runtime pointed into the
// distribution, and the given overrides (a nil value sets the key to null).
// Package management is on, as a mixed cluster needs: packages live in the
// broker's package service, where both kinds of worker find them.
func JavaWorkerConfig(t testing.TB, p Pulsar, id string, port int, overrides map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	store := os.Getenv("PULSAR_METADATA_STORE_URL")
	return writeConfig(t, p, filepath.Join(p.Home, "conf", "functions_worker.yml"), map[string]any{
		"workerId":                               id,
		"workerHostname":                         "127.0.0.1",
		"workerPort":                             port,
		"workerPortTls":                          nil,
		"pulsarServiceUrl":                       p.ServiceURL,
		"pulsarWebServiceUrl":                    p.WebServiceURL,
		"pulsarFunctionsCluster":                 "standalone",
		"pulsarFunctionsNamespace":               "public/functions",
		"downloadDirectory":                      filepath.Join(dir, "download"),
		"functionsWorkerEnablePackageManagement": true,
		"configurationMetadataStoreUrl":          store,
		"configurationStoreServers":              strings.TrimPrefix(store, "zk:"),
		"connectorsDirectory":                    filepath.Join(dir, "connectors"),
		"functionsDirectory":                     filepath.Join(dir, "functions"),
		"functionRuntimeFactoryConfigs": map[string]any{
			"logDirectory":                 filepath.Join(dir, "logs"),
			"javaInstanceJarLocation":      filepath.Join(p.Home, "instances", "java-instance.jar"),
			"pythonInstanceLocation":       filepath.Join(p.Home, "instances", "python-instance", "python_instance_main.py"),
			"extraFunctionDependenciesDir": filepath.Join(p.Home, "instances", "deps"),
		},
	}, overrides, filepath.Join(dir, id+".yml"))
}

// StartJavaWorker runs `bin/pulsar functions-worker` of the distribution with
// config, a bounded heap and its own log, and stops it and its instances
// when the test ends. It does not wait for readiness: WaitReady does, and a
// Java worker that exits or never serves fails the test with its log.
// jvmOptions (such as -Djava.security.auth.login.config=...) go to the JVM
// through PULSAR_EXTRA_OPTS.
func StartJavaWorker(t testing.TB, p Pulsar, id string, port int, config string, jvmOptions ...string) *Worker {
	t.Helper()
	p.RequireJavaWorkers(t)
	mem := os.Getenv("PFW_JAVA_WORKER_MEM")
	if mem == "" {
		mem = javaWorkerMem
	}
	logDir := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command(filepath.Join(p.Home, "bin", "pulsar"), "functions-worker")
	cmd.Dir = filepath.Dir(config)
	env := []string{
		"PULSAR_WORKER_CONF=" + config,
		"PULSAR_MEM=" + mem,
		"PULSAR_GC=-XX:+UseSerialGC",
		"PULSAR_LOG_DIR=" + logDir,
	}
	if len(jvmOptions) > 0 {
		env = append(env, "PULSAR_EXTRA_OPTS="+strings.Join(jvmOptions, " "))
	}
	// Python instances run "python3" from PATH: the virtualenv with the
	// pulsar-client package.
	path := os.Getenv("PATH")
	if py := os.Getenv("PFW_PYTHON"); py != "" {
		path = filepath.Dir(py) + string(os.PathListSeparator) + path
	}
	env = append(env, "PATH="+path)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		// Another process's JVM settings would clash with ours ("Multiple
		// garbage collectors selected" exits the JVM).
		case "PATH", "PULSAR_WORKER_CONF", "PULSAR_MEM", "PULSAR_GC", "PULSAR_GC_LOG",
			"PULSAR_EXTRA_OPTS", "PULSAR_LOG_DIR", "PULSAR_LOG_CONF", "JAVA_TOOL_OPTIONS":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return startProcess(t, KindJava, id, port, config, cmd)
}

// RequirePythonInstances checks that the workers can start Python instances
// of the pinned distribution: PFW_PYTHON, the virtualenv's python3 that the
// harness puts first on the workers' PATH, able to import the pulsar-client
// package, and the distribution's python-instance. Without them the test is
// skipped locally, saying why, and fails under CI=true.
func (p Pulsar) RequirePythonInstances(t testing.TB) {
	t.Helper()
	py := os.Getenv("PFW_PYTHON")
	if py == "" {
		Unavailable(t, "no Python instances: PFW_PYTHON unset (scripts/pulsar.sh builds the virtualenv with the pulsar-client package and exports it)")
	}
	if out, err := exec.Command(py, "-c", "import pulsar").CombinedOutput(); err != nil {
		Unavailable(t, "no Python instances: "+py+" cannot import pulsar: "+err.Error()+": "+strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(filepath.Join(p.Home, "instances", "python-instance", "python_instance_main.py")); err != nil {
		Unavailable(t, "no Python instances: "+err.Error())
	}
}
