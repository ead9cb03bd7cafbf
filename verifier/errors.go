package verifier

import (
	"errors"

	"github.com/edgejwt/edgejwt/internal/errdetail"
)

// Sentinel errors, one per client-visible reason. Their texts are fixed and
// contain no token or key data, so they can go into a 401 response. Errors
// returned by this package wrap exactly one of them; test with errors.Is.
var (
	ErrTokenTooLarge  = errors.New("token too large")
	ErrMalformed      = errors.New("malformed token")
	ErrUnsupportedAlg = errors.New("unsupported algorithm")
	ErrUnknownKID     = errors.New("no matching signing key")
	ErrBadSignature   = errors.New("invalid signature")
	ErrExpired        = errors.New("token expired")
	ErrNotYetValid    = errors.New("token not yet valid")
	ErrIssuedInFuture = errors.New("token issued in the future")
	ErrMissingExp     = errors.New("token has no expiry")
	ErrLifetime       = errors.New("token lifetime too long")
	ErrIssuer         = errors.New("issuer not accepted")
	ErrAudience       = errors.New("audience not accepted")
	ErrSubject        = errors.New("subject not accepted")
	ErrBadClaim       = errors.New("invalid claim")
)

// sentinels lists every reason, for Reason.
var sentinels = [...]error{
	ErrTokenTooLarge,
	ErrMalformed,
	ErrUnsupportedAlg,
	ErrUnknownKID,
	ErrBadSignature,
	ErrExpired,
	ErrNotYetValid,
	ErrIssuedInFuture,
	ErrMissingExp,
	ErrLifetime,
	ErrIssuer,
	ErrAudience,
	ErrSubject,
	ErrBadClaim,
}

// Reason returns the short, client-safe reason for err: the text of the
// sentinel it wraps, "invalid token" for any other error, and "" for nil.
// Use it, not err.Error(), for anything sent to a client.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "invalid token"
}

// detail wraps a sentinel with a log-only explanation. Errors built with it
// at package level cost nothing on the request path.
func detail(sentinel error, msg string) error { return errdetail.New(sentinel, msg) }

// Fixed errors for the structural checks, built once.
var (
	errNoDots          = detail(ErrMalformed, "token must have three dot-separated segments")
	errEmptySegment    = detail(ErrMalformed, "empty segment")
	errBase64Alphabet  = detail(ErrMalformed, "segment has characters outside the base64url alphabet")
	errBase64          = detail(ErrMalformed, "segment is not canonical unpadded base64url")
	errNotUTF8         = detail(ErrMalformed, "JSON is not valid UTF-8")
	errBOM             = detail(ErrMalformed, "JSON starts with a byte-order mark")
	errNotJSON         = detail(ErrMalformed, "segment is not valid JSON")
	errTooDeep         = detail(ErrMalformed, "JSON nested too deeply")
	errNotObject       = detail(ErrMalformed, "JSON is not an object")
	errDuplicateMember = detail(ErrMalformed, "duplicate member name")
	errNoAlg           = detail(ErrMalformed, "header has no alg")
	errAlgType         = detail(ErrMalformed, "header alg is not a string")
	errKidType         = detail(ErrMalformed, "header kid is not a string")
	errCrit            = detail(ErrMalformed, "header has crit; no extensions are supported")
	errB64             = detail(ErrMalformed, "header has b64; unencoded payloads are not supported")
	errNilToken        = detail(ErrMalformed, "no token")

	errAlgNotAllowed = detail(ErrUnsupportedAlg, "algorithm not in the allow-list")
	errAlgUnknown    = detail(ErrUnsupportedAlg, "algorithm not supported")

	errNoKeySource   = detail(ErrUnknownKID, "no key source")
	errNilKey        = detail(ErrUnknownKID, "key source returned no key")
	errKeyAlg        = detail(ErrUnknownKID, "key alg differs from token alg")
	errKeyUse        = detail(ErrUnknownKID, "key use is not sig")
	errKeyType       = detail(ErrUnknownKID, "key type does not fit the algorithm")
	errKeyCurve      = detail(ErrUnknownKID, "EC key curve does not fit the algorithm")
	errKeyRSASize    = detail(ErrUnknownKID, "RSA key smaller than 2048 bits")
	errKeyEd25519Len = detail(ErrUnknownKID, "Ed25519 key has the wrong length")
	errKeyIncomplete = detail(ErrUnknownKID, "key is incomplete")

	errSigLength = detail(ErrBadSignature, "signature has the wrong length")

	errExpType = detail(ErrBadClaim, "exp is not a number")
	errNbfType = detail(ErrBadClaim, "nbf is not a number")
	errIatType = detail(ErrBadClaim, "iat is not a number")

	errExpRange = detail(ErrBadClaim, "exp is not a date from year 1 to 9999")
	errNbfRange = detail(ErrBadClaim, "nbf is not a date from year 1 to 9999")
	errIatRange = detail(ErrBadClaim, "iat is not a date from year 1 to 9999")
	errIssType  = detail(ErrBadClaim, "iss is not a string")
	errSubType  = detail(ErrBadClaim, "sub is not a string")
	errJtiType  = detail(ErrBadClaim, "jti is not a string")
	errAudType  = detail(ErrBadClaim, "aud is not a string or an array of strings")

	errNoIssuer  = detail(ErrIssuer, "token has no iss")
	errNoAud     = detail(ErrAudience, "token has no aud")
	errNoSubject = detail(ErrSubject, "token has no sub")
)
