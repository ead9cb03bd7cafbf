//go:build edgejwt_no_eddsa

package jwkscache

import "crypto"

// This build has no EdDSA (build tag edgejwt_no_eddsa): OKP keys are
// skipped, with a reason naming the build.

func okpSuits(crypto.PublicKey, string) bool { return false }

func okpKey(string, string) (crypto.PublicKey, string, bool) {
	return nil, "OKP keys are not supported by this build of the filter (built without EdDSA)", false
}
