//go:build edgejwt_no_ecdsa

package jwkscache

import "crypto"

// This build has no ECDSA (build tag edgejwt_no_ecdsa): EC keys are
// skipped, with a reason naming the build.

func ecSuits(crypto.PublicKey, string) bool { return false }

func ecKey(string, string, string) (crypto.PublicKey, string) {
	return nil, "EC keys are not supported by this build of the filter (built without ECDSA)"
}
