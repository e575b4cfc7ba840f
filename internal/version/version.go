// Package version holds the build's version string, set by the linker.
package version

// Version is the release this binary was built from; "dev" for local builds.
var Version = "dev"

// PulsarVersion is the Apache Pulsar release this worker is built and tested against.
const PulsarVersion = "4.0.8"
