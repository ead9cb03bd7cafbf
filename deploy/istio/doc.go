// Package istio holds the Istio manifests that deploy edgejwt
// (wasmplugin.yaml, serviceentry.yaml, destinationrule.yaml) and, in its
// tests, their validation: each manifest is checked against the
// CustomResourceDefinition that Istio publishes (the istio.io/api module's
// kubernetes/customresourcedefinitions.gen.yaml) with the API server's own
// validators (OpenAPI schema, unknown fields, list types, CEL rules), its spec
// is decoded strictly into Istio's API types, and the WasmPlugin's
// pluginConfig is parsed by the filter's config.Parse.
//
// The package has no code: it exists for its manifests and tests.
package istio
