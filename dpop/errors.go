package dpop

import (
	"errors"

	"github.com/edgejwt/edgejwt/internal/errdetail"
)

// Reasons a proof is refused. Their texts are fixed and echo nothing.
var (
	ErrMissing     = errors.New("DPoP proof missing")
	ErrMultiple    = errors.New("more than one DPoP proof")
	ErrMalformed   = errors.New("malformed DPoP proof")
	ErrAlgorithm   = errors.New("DPoP proof algorithm not accepted")
	ErrKey         = errors.New("DPoP proof key not accepted")
	ErrSignature   = errors.New("invalid DPoP proof signature")
	ErrMethod      = errors.New("DPoP proof for another method")
	ErrURI         = errors.New("DPoP proof for another URI")
	ErrTime        = errors.New("DPoP proof outside its time window")
	ErrAccessToken = errors.New("DPoP proof for another access token")
	ErrReplayed    = errors.New("DPoP proof replayed")
	ErrReplayCheck = errors.New("DPoP replay check failed")
	// ErrNonce asks the client to retry with the server's nonce
	// (use_dpop_nonce): the proof had none, an invalid one or an old one.
	ErrNonce = errors.New("DPoP nonce required")
	// ErrKeyBinding is a valid proof made with another key than the one
	// the access token is bound to (invalid_token).
	ErrKeyBinding = errors.New("DPoP key binding mismatch")
)

var sentinels = [...]error{ErrMissing, ErrMultiple, ErrMalformed, ErrAlgorithm, ErrKey, ErrSignature,
	ErrMethod, ErrURI, ErrTime, ErrAccessToken, ErrReplayed, ErrReplayCheck, ErrNonce, ErrKeyBinding}

// Reason is the text of the sentinel err wraps, or "" when it wraps none.
func Reason(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return ""
}

// Code is the RFC 9449 error code of err for the WWW-Authenticate
// challenge: use_dpop_nonce, invalid_token (a key binding mismatch) or
// invalid_dpop_proof; "" for an error of another package.
func Code(err error) string {
	switch {
	case errors.Is(err, ErrNonce):
		return "use_dpop_nonce"
	case errors.Is(err, ErrKeyBinding):
		return "invalid_token"
	case Reason(err) != "":
		return "invalid_dpop_proof"
	}
	return ""
}

func detail(sentinel error, msg string) error { return errdetail.New(sentinel, msg) }

var (
	errTyp      = detail(ErrMalformed, "typ is not dpop+jwt")
	errNoAlg    = detail(ErrMalformed, "alg is missing or not a string")
	errNoJWK    = detail(ErrMalformed, "jwk is missing or not an object")
	errCrit     = detail(ErrMalformed, "crit or b64 in the header")
	errHTM      = detail(ErrMalformed, "htm is missing or not a non-empty string")
	errHTU      = detail(ErrMalformed, "htu is missing or not a non-empty string")
	errIat      = detail(ErrMalformed, "iat is missing or not a number of seconds")
	errJTI      = detail(ErrMalformed, "jti is missing, not a string, empty or too long")
	errATH      = detail(ErrMalformed, "ath is missing or not a string")
	errNonceTyp = detail(ErrMalformed, "nonce is not a string")
	errHTUParse = detail(ErrURI, "htu is not an absolute http or https URI")
)
