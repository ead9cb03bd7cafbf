package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/edgejwt/edgejwt/authn"
)

// peerCertificateProperty is Envoy's attribute for the SHA-256 digest of
// the downstream connection's client certificate: lower-case hex, empty or
// absent without one (Envoy's attributes reference, "Connection
// attributes").
var peerCertificateProperty = []string{"connection", "sha256_peer_certificate_digest"}

// senderConstraints gives authn what sender-constrained tokens need of the
// host: shared data, so that the workers share the DPoP replay caches and
// nonce secret (the buckets are created here, at plugin start), and the
// client certificate of the request in progress (read only for tokens
// bound to one).
func senderConstraints(auth *authn.Authenticator) error {
	auth.SetPeerCertificate(peerCertificateDigest)
	return auth.ShareDPoPState(sharedData{})
}

func peerCertificateDigest() (string, bool) {
	v, err := proxywasm.GetProperty(peerCertificateProperty)
	if err != nil || len(v) == 0 {
		return "", false
	}
	return string(v), true
}
