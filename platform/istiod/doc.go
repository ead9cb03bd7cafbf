// Package istiod runs istiod's own configuration generation (istio.io/istio
// pilot/pkg/networking/core) on deploy/istio/, converts the result with the
// agent's code (pkg/wasm) as pilot-agent does, and serves requests through
// it in a real Envoy: `make istio-check`.
//
// Its tests carry the build tag istiocheck: linking Istio's control plane
// takes minutes and about 2 GB of memory, so `go test ./...` and `go vet
// ./...` of the platform module (make test) leave them out.
//
// The package has no code: it exists for its tests.
package istiod
