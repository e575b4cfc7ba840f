package config

// The process runtime is the only one this worker has. The Java worker picks
// its runtime from functionRuntimeFactoryClassName, or, when that is blank,
// from the deprecated threadContainerFactory / processContainerFactory /
// kubernetesContainerFactory blocks (4.0.8's WorkerConfig still reads them).
// A config asking for another runtime is an error, so that a worker never
// starts instances as processes when the operator asked for something else.

// whyNotThread and whyNotKubernetes say why each runtime is not offered.
const (
	whyNotThread = "the thread runtime runs instances inside the worker's own JVM, and this worker has no JVM"
	whyNotK8s    = "running instances as Kubernetes pods is Function Mesh's job (https://functionmesh.io), not this worker's"
	supported    = "this worker runs instances as processes only: use functionRuntimeFactoryClassName: " + ProcessRuntimeFactoryClass
)

// checkRuntimeChoice reports a runtime other than the process runtime as an
// error naming the key, the value and the runtime we support.
func (l *loader) checkRuntimeChoice(c *Config) {
	cls := c.FunctionRuntimeFactoryClassName
	if cls != "" {
		if !l.ok("functionRuntimeFactoryClassName") {
			return
		}
		switch cls {
		case ProcessRuntimeFactoryClass:
		case ThreadRuntimeFactoryClass:
			l.errorf([]string{"functionRuntimeFactoryClassName"}, "%s is not supported: %s; %s", cls, whyNotThread, supported)
		case KubernetesRuntimeFactoryClass:
			l.errorf([]string{"functionRuntimeFactoryClassName"}, "%s is not supported: %s; %s", cls, whyNotK8s, supported)
		default:
			l.errorf([]string{"functionRuntimeFactoryClassName"}, "%s is not supported: custom runtime factories are Java classes the worker would load into its JVM, and this worker has no JVM; %s", cls, supported)
		}
		return
	}
	// No class: the deprecated blocks choose, in Java's order (thread, process, Kubernetes).
	switch {
	case c.ThreadContainerFactory != nil:
		l.errorf([]string{"threadContainerFactory"}, "selects the thread runtime (%s), which is not supported: %s; %s", ThreadRuntimeFactoryClass, whyNotThread, supported)
	case c.ProcessContainerFactory != nil:
	case c.KubernetesContainerFactory != nil:
		l.errorf([]string{"kubernetesContainerFactory"}, "selects the Kubernetes runtime (%s), which is not supported: %s; %s", KubernetesRuntimeFactoryClass, whyNotK8s, supported)
	}
}
