//go:build edgejwt_no_eddsa

package jwkscache

// Stand-ins for the Ed25519 checks that the tests of the default build
// name, so that the package's tests compile with the RSA-only build's tags
// (make unit runs only the Omitted tests there).
var ed25519SmallOrder [0]string

func unsafeEd25519([]byte) string { return "" }
