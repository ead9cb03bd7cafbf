package dpop

import (
	"crypto/sha256"
	"encoding/base64"
	"math"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/ascii"
	"github.com/edgejwt/edgejwt/jwkscache"
	"github.com/edgejwt/edgejwt/verifier"
)

// Bounds on what a client may send.
const (
	// MaxSize bounds a proof: enough for an RSA-8192 jwk and signature.
	MaxSize = 8192
	// MaxJTI bounds the jti: 96 random bits or a UUID need far less.
	MaxJTI = 256
)

// Proof is a DPoP proof whose structure, header and claim types Parse
// checked. Nothing in it is verified: Checker.Check does that.
type Proof struct {
	alg        string
	key        *verifier.Key
	thumbprint string
	htm, htu   string
	jti, ath   string
	nonce      string
	hasNonce   bool
	iat        float64
	input, sig []byte
}

// Alg is the header's alg.
func (p *Proof) Alg() string { return p.alg }

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the header's jwk,
// base64url: what an access token bound to that key has as cnf.jkt.
func (p *Proof) Thumbprint() string { return p.thumbprint }

// HTM, HTU, JTI, ATH and Nonce are the claims (Nonce "" when absent); IAT
// is the iat claim in seconds.
func (p *Proof) HTM() string   { return p.htm }
func (p *Proof) HTU() string   { return p.htu }
func (p *Proof) JTI() string   { return p.jti }
func (p *Proof) ATH() string   { return p.ath }
func (p *Proof) Nonce() string { return p.nonce }
func (p *Proof) IAT() float64  { return p.iat }

// Parse reads a proof strictly: a compact JWS of at most MaxSize bytes with
// the verifier's structural checks (strict base64url, one JSON object each,
// no repeated member name); a header with typ dpop+jwt (or
// application/dpop+jwt, in any case), alg a string, no crit or b64, and a
// public jwk that jwkscache.ParseJWK accepts (no private members, a usable
// key that is never an unsafe one); claims htm, htu, ath non-empty strings,
// jti a string of 1 to MaxJTI bytes, iat a number of seconds between the
// years 1970 and 9999, nonce a string when present.
func Parse(raw string) (*Proof, error) {
	j, err := verifier.ParseJWS(raw, MaxSize)
	if err != nil {
		return nil, detail(ErrMalformed, err.Error())
	}
	p := &Proof{input: j.SigningInput, sig: j.Signature}
	var typ, alg, jwk gjson.Result
	crit := false
	err = verifier.Members(j.Header, func(name string, v gjson.Result) {
		switch name {
		case "typ":
			typ = v
		case "alg":
			alg = v
		case "jwk":
			jwk = v
		case "crit", "b64":
			crit = true
		}
	})
	switch {
	case err != nil:
		return nil, detail(ErrMalformed, err.Error())
	case crit:
		return nil, errCrit
	case typ.Type != gjson.String || !(ascii.EqualFold(typ.Str, "dpop+jwt") || ascii.EqualFold(typ.Str, "application/dpop+jwt")):
		return nil, errTyp
	case alg.Type != gjson.String:
		return nil, errNoAlg
	case !jwk.IsObject():
		return nil, errNoJWK
	}
	p.alg = alg.Str
	k, reason, _ := jwkscache.ParseJWK(jwk)
	if k == nil {
		return nil, detail(ErrKey, reason)
	}
	p.key = k
	p.thumbprint = thumbprint(jwk)

	var htm, htu, iat, jti, ath, nonce gjson.Result
	err = verifier.Members(j.Payload, func(name string, v gjson.Result) {
		switch name {
		case "htm":
			htm = v
		case "htu":
			htu = v
		case "iat":
			iat = v
		case "jti":
			jti = v
		case "ath":
			ath = v
		case "nonce":
			nonce = v
		}
	})
	switch {
	case err != nil:
		return nil, detail(ErrMalformed, err.Error())
	case htm.Type != gjson.String || htm.Str == "":
		return nil, errHTM
	case htu.Type != gjson.String || htu.Str == "":
		return nil, errHTU
	// Between 1970 and 9999 (the verifier's bound for dates); the
	// comparisons are false for NaN.
	case iat.Type != gjson.Number || !(iat.Num >= 0 && iat.Num <= 253402300799):
		return nil, errIat
	case jti.Type != gjson.String || jti.Str == "" || len(jti.Str) > MaxJTI:
		return nil, errJTI
	case ath.Type != gjson.String || ath.Str == "":
		return nil, errATH
	case nonce.Exists() && nonce.Type != gjson.String:
		return nil, errNonceTyp
	}
	p.htm, p.htu, p.jti, p.ath = htm.Str, htu.Str, jti.Str, ath.Str
	p.iat = iat.Num
	p.nonce, p.hasNonce = nonce.Str, nonce.Exists()
	return p, nil
}

// thumbprint is the RFC 7638 thumbprint of a JWK that jwkscache.ParseJWK
// accepted: SHA-256 over the required members in lexical order, without
// whitespace, base64url. ParseJWK has checked every member it reads here:
// strings, unrepeated, canonical base64url (no character JSON escapes) and
// a crv from a fixed list, so they are written as they are.
func thumbprint(jwk gjson.Result) string {
	var kty, crv, x, y, n, e string
	jwk.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "kty":
			kty = v.Str
		case "crv":
			crv = v.Str
		case "x":
			x = v.Str
		case "y":
			y = v.Str
		case "n":
			n = v.Str
		case "e":
			e = v.Str
		}
		return true
	})
	var canonical string
	switch kty {
	case "EC":
		canonical = `{"crv":"` + crv + `","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case "RSA":
		canonical = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	default: // OKP: ParseJWK knows no other
		canonical = `{"crv":"` + crv + `","kty":"OKP","x":"` + x + `"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AccessTokenHash is the ath of a proof for token: base64url(SHA-256(token)).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// seconds floors t, a number of seconds Parse accepted.
func seconds(t float64) int64 { return int64(math.Floor(t)) }
