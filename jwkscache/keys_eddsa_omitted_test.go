//go:build edgejwt_no_eddsa

package jwkscache

// unsafeEd25519 is the check of the default build's Ed25519 keys; the
// build without EdDSA keeps no Ed25519 key, so its tests have none to judge.
func unsafeEd25519([]byte) string { return "" }
