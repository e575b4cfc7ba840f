# pulsar-functions-worker — developer entry points. See README.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/pulsar-functions-worker
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/pulsar-functions-worker/pulsar-functions-worker/internal/version.Version=$(VERSION)
CONFIG ?= etc/pulsar/functions_worker.yml

.PHONY: all build test unit check fuzz run check-config pulsar-fetch pulsar-up pulsar-down proto fmt vet clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pulsar-functions-worker

# The whole suite: fetches and starts one Pulsar standalone for the run, shares it with
# every package's tests through PULSAR_* variables, and stops it at the end.
test:
	./scripts/test.sh

# Unit tests only (no Pulsar).
unit:
	$(GO) test -short ./...

# Static checks, the race-enabled unit tests and a bounded run of every fuzz target, no Pulsar;
# CI runs it before `make test`. See scripts/check.sh for the steps (gofmt, vet, mod tidy,
# staticcheck, race, fuzz, proto, govulncheck).
check:
	GO=$(GO) ./scripts/check.sh

# Every fuzz target for FUZZTIME (default 5s) each; part of `make check`.
fuzz:
	GO=$(GO) ./scripts/fuzz.sh

# Build, bring up a local standalone (unless PULSAR_SERVICE_URL names a broker), run the worker.
run: build
	./scripts/run.sh $(CONFIG)

check-config: build
	$(BIN) check-config --config $(CONFIG)

pulsar-fetch:
	./scripts/pulsar.sh fetch

pulsar-up:
	@./scripts/pulsar.sh up

pulsar-down:
	@./scripts/pulsar.sh down

proto:
	./scripts/proto.sh

fmt:
	gofmt -l -w .

vet:
	$(GO) vet ./...

clean:
	rm -rf bin dist

# .deb and .rpm in dist/, built with nfpm (pinned in packaging/tools/nfpm.mod). See packaging/README.md.
package:
	./packaging/package.sh

# The packages in a real systemd: one systemd-vm guest (Debian 12) against a Pulsar standalone on
# the host; see test/systemd/run.sh.
test-systemd:
	./test/systemd/run.sh

.PHONY: package test-systemd
