// Package packages stores function packages durably in the Pulsar cluster and
// fetches them to the worker's local disk before an instance starts.
//
// Where an uploaded package goes depends on functionsWorkerEnablePackageManagement:
//
//   - true: the broker's packages-management service, exactly as the Java
//     worker uses it (POST/GET /admin/v3/packages/... on pulsarWebServiceUrl).
//     The metadata's packagePath is the package URL
//     function://tenant/namespace/name@<metadata version> (sink://, source://
//     for connectors), which Java workers read too.
//   - false (the default): one topic per upload,
//     persistent://<pulsarFunctionsNamespace>/package-<tenant>.<ns>.<name>-<random>,
//     and packagePath is that topic name. The package is a run of 1 MiB
//     segment messages closed by a manifest message carrying the sha256, size
//     and original file name, so neither side ever holds a whole package in
//     memory (producers also enable chunking, for brokers whose maxMessageSize
//     is below a segment). The topic gets topic-level infinite retention, a
//     never-acknowledging subscription and no inactive-topic deletion, so the
//     broker never trims it, and a persistence policy of ensemble = write
//     quorum = ack quorum = numFunctionPackageReplicas: the package is kept
//     with numFunctionPackageReplicas copies where the storage allows it; with
//     fewer bookies, or when the broker refuses the policy, it falls back to
//     what the namespace allows and logs a warning.
//
// Java workers keep these uploads in BookKeeper DistributedLog, which this
// worker cannot read or write. A Java worker cannot read our topic form either
// (it treats any path it does not recognise as a DistributedLog log name), so a
// cluster that mixes Java and Go workers must set
// functionsWorkerEnablePackageManagement: true on every worker; packages a Java
// worker already stored in DistributedLog fail to start here with ErrDistributedLog.
//
// Fetching supports every packagePath form: builtin://, http(s):// and file:
// (both checked against the enableReferencing*DirectoryFiles and
// additionalEnabled*UrlPatterns keys, as Java's PackageUrlValidator does),
// function:// sink:// source://, our topic form; DistributedLog names fail
// with a clear error. Downloads land once per worker in a content-addressed
// cache under downloadDirectory/.cache and are hard-linked into each
// instance's directory <downloadDirectory>/<tenant>/<ns>/<name>/<instanceId>/.
package packages
