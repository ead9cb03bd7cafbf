package verifier

import "github.com/tidwall/gjson"

// Members calls fn with each top-level member of obj, a JSON object from
// ParseJWS, in order and with names unescaped; it refuses a repeated name
// (ErrMalformed) before calling fn again.
func Members(obj string, fn func(name string, v gjson.Result)) error {
	return walkMembers(obj, fn)
}

// CheckSignature checks a JWS signature made with alg over input with k, as
// Verify does for a token: alg must be one of the filter's algorithms
// (never none or HMAC), k must suit it (type, curve, size, alg and use
// members), and the signature must verify, through sigs first when it is
// set. The error wraps ErrUnsupportedAlg, ErrUnknownKID (a key that does
// not suit alg) or ErrBadSignature.
func CheckSignature(alg string, k *Key, input, sig []byte, sigs SignatureChecker) error {
	a := lookupAlgorithm(alg)
	if a == algUnknown || !a.compiled() {
		return errAlgUnknown
	}
	if err := checkKey(a, k); err != nil {
		return err
	}
	if sigs != nil {
		if valid, handled := sigs(alg, k, input, sig); handled {
			if !valid {
				return ErrBadSignature
			}
			return nil
		}
	}
	return verifySignature(a, k, input, sig)
}
