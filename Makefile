# posagent: the commands a newcomer runs. Each installs what it needs.
GO      ?= go
FUZZTIME ?= 20s

.PHONY: demo test check bench fuzz deps build

build:
	$(GO) build ./...

## demo: a payment day through the local API (daemon, simulated cards, local acquirer simulator)
demo: deps
	$(GO) run ./cmd/posagent demo

## test: go vet, race-enabled tests, integration tests against real pcscd/vpcd, ptys, TLS, bbolt
test: deps
	./scripts/test.sh

## check: gofmt, vet, staticcheck (when installable), race tests
check: deps
	./scripts/check.sh

## bench: the benchmarks the issues name, written to BENCHMARKS.md
bench: deps
	./scripts/bench.sh

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

deps:
	./scripts/deps.sh
