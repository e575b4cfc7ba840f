// Pinned govulncheck for `make check` (scripts/check.sh), kept out of the worker's go.mod
// so that its dependencies do not become the worker's.
// Use: go tool -modfile=tools/govulncheck.mod govulncheck
module github.com/pulsar-functions-worker/pulsar-functions-worker/tools/govulncheck

go 1.26.8

tool golang.org/x/vuln/cmd/govulncheck

require (
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/telemetry v0.0.0-20261010193011-f71dc92da45e // indirect
	golang.org/x/tools v0.52.0 // indirect
	golang.org/x/vuln v1.9.0 // indirect
)
