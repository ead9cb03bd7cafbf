// Package envoygateway checks edgejwt's Envoy Gateway manifests
// (deploy/envoy-gateway/ of the repository) against what Envoy Gateway
// publishes: its CRDs and the Gateway API CRDs its chart installs (from the
// github.com/envoyproxy/gateway module of the pinned release), and the
// Gateway API's standard channel; then that they fit together (the policy's
// target, the EnvoyProxy's bootstrap cluster the filter's jwksCluster names,
// the image pinned by digest), that the filter's config.Parse takes the
// configuration, and that Envoy itself takes the cluster.
//
// The package has no code: it exists for its tests.
package envoygateway
