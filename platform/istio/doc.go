// Package istio checks edgejwt's Istio manifests (deploy/istio/ of the
// repository) with Istio's own code and API: each manifest against the
// CustomResourceDefinition Istio publishes (the istio.io/api module's
// kubernetes/customresourcedefinitions.gen.yaml) with the API server's own
// validators (OpenAPI schema, unknown fields, list types, CEL rules), its
// spec decoded strictly into Istio's API types, and the WasmPlugin's
// pluginConfig parsed by the filter's config.Parse.
//
// The package has no code: it exists for its tests.
package istio
