package verifier

import (
	"encoding/base64"
	"strings"

	"github.com/tidwall/gjson"
)

// DefaultMaxSize is the token size limit Parse applies when maxSize <= 0.
const DefaultMaxSize = 8192

// b64 decodes base64url without padding and rejects non-zero trailing bits.
// It still skips CR/LF, which is why segments are checked against the
// alphabet before decoding.
var b64 = base64.RawURLEncoding.Strict()

// Token is a parsed but NOT yet verified compact JWS. Nothing in it is
// trustworthy until Verifier.Verify has succeeded.
type Token struct {
	signingInput []byte // ASCII(header '.' payload), as received
	sig          []byte // decoded signature
	payloadBytes []byte // decoded payload JSON
	payload      string // the same JSON as a string, for gjson
	payloadSeg   string // base64url payload segment as received
	alg          string
	kid          string
	claims       registered // registered claims, unjudged until Verify
}

// Parse checks the structure of a compact JWS without any crypto: size,
// three strict base64url segments, a JSON-object header and payload without
// duplicate member names, and a usable header. maxSize <= 0 means
// DefaultMaxSize.
func Parse(raw string, maxSize int) (*Token, error) {
	j, err := ParseJWS(raw, maxSize)
	if err != nil {
		return nil, err
	}
	t := &Token{
		signingInput: j.SigningInput,
		sig:          j.Signature,
		payloadBytes: j.PayloadBytes,
		payload:      j.Payload,
		payloadSeg:   j.PayloadSegment,
	}
	if err := t.parseHeader(j.Header); err != nil {
		return nil, err
	}
	if err := t.parsePayload(); err != nil {
		return nil, err
	}
	return t, nil
}

// JWS is a compact JWS whose structure ParseJWS checked: nothing in it is
// verified. Token is the JWT view of one; a DPoP proof is another.
type JWS struct {
	Header         string // the decoded header, a JSON object
	Payload        string // the decoded payload, a JSON object
	PayloadBytes   []byte // the same bytes as Payload
	PayloadSegment string // the payload segment as received
	SigningInput   []byte // ASCII(header '.' payload), as received
	Signature      []byte // decoded
}

// ParseJWS checks what Parse checks of a compact JWS short of its header
// members: size, three strict base64url segments, and a header and payload
// that are each exactly one JSON object in valid UTF-8, nested at most 64
// deep. Duplicate member names are the caller's to refuse (Members).
func ParseJWS(raw string, maxSize int) (JWS, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(raw) > maxSize {
		return JWS{}, ErrTokenTooLarge
	}

	dot1 := strings.IndexByte(raw, '.')
	if dot1 < 0 {
		return JWS{}, errNoDots
	}
	dot2 := strings.IndexByte(raw[dot1+1:], '.')
	if dot2 < 0 {
		return JWS{}, errNoDots
	}
	dot2 += dot1 + 1
	if strings.IndexByte(raw[dot2+1:], '.') >= 0 {
		return JWS{}, errNoDots
	}
	hSeg, pSeg, sSeg := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]
	if len(hSeg) == 0 || len(pSeg) == 0 || len(sSeg) == 0 {
		return JWS{}, errEmptySegment
	}
	// Alphabet first: it rejects whitespace, padding and '+' '/' that the
	// decoder would skip or that belong to another alphabet.
	if !isBase64URL(hSeg) || !isBase64URL(pSeg) || !isBase64URL(sSeg) {
		return JWS{}, errBase64Alphabet
	}

	// One allocation holds a copy of the token (the decoder reads bytes, and
	// the signing input must be bytes) followed by the decoded header,
	// payload and signature.
	hLen := b64.DecodedLen(len(hSeg))
	pLen := b64.DecodedLen(len(pSeg))
	sLen := b64.DecodedLen(len(sSeg))
	n := len(raw)
	buf := make([]byte, n+hLen+pLen+sLen)
	copy(buf, raw)
	hDec, ok := decodeSegment(buf[n:n+hLen:n+hLen], buf[:dot1])
	if !ok {
		return JWS{}, errBase64
	}
	n += hLen
	pDec, ok := decodeSegment(buf[n:n+pLen:n+pLen], buf[dot1+1:dot2])
	if !ok {
		return JWS{}, errBase64
	}
	n += pLen
	sig, ok := decodeSegment(buf[n:], buf[dot2+1:len(raw)])
	if !ok {
		return JWS{}, errBase64
	}

	if err := checkObject(hDec); err != nil {
		return JWS{}, err
	}
	if err := checkObject(pDec); err != nil {
		return JWS{}, err
	}

	// gjson reads strings; one copy serves both header and payload.
	js := string(buf[len(raw) : len(raw)+hLen+pLen])
	return JWS{
		Header:         js[:hLen],
		Payload:        js[hLen:],
		PayloadBytes:   pDec,
		PayloadSegment: pSeg,
		SigningInput:   buf[:dot2],
		Signature:      sig,
	}, nil
}

// decodeSegment decodes src into dst, which must have room for
// DecodedLen(len(src)) bytes, and reports whether src was canonical.
func decodeSegment(dst, src []byte) ([]byte, bool) {
	n, err := b64.Decode(dst, src)
	if err != nil || n != len(dst) {
		return nil, false
	}
	return dst[:n], true
}

// base64URLAlphabet marks the bytes allowed in a segment.
var base64URLAlphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// isBase64URL reports whether s has only base64url alphabet characters.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if !base64URLAlphabet[s[i]] {
			return false
		}
	}
	return true
}

// parseHeader reads alg and kid and refuses crit and b64.
func (t *Token) parseHeader(header string) error {
	var alg, kid gjson.Result
	var bad error
	err := walkMembers(header, func(name string, v gjson.Result) {
		switch name {
		case "alg":
			alg = v
		case "kid":
			kid = v
		case "crit":
			bad = errCrit
		case "b64":
			bad = errB64
		}
	})
	if err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	if !alg.Exists() {
		return errNoAlg
	}
	if alg.Type != gjson.String {
		return errAlgType
	}
	if kid.Exists() && kid.Type != gjson.String {
		return errKidType
	}
	t.alg, t.kid = alg.Str, kid.Str
	return nil
}

// parsePayload rejects duplicate claim names and remembers the registered
// claims. It does not judge their values: that waits for the signature.
func (t *Token) parsePayload() error {
	return walkMembers(t.payload, func(name string, v gjson.Result) {
		if i := registeredIndex(name); i >= 0 {
			t.claims[i] = v
		}
	})
}

// Alg returns the header's "alg" (unverified).
func (t *Token) Alg() string { return t.alg }

// KeyID returns the header's "kid", or "" if absent (unverified).
func (t *Token) KeyID() string { return t.kid }

// UnverifiedIssuer returns the payload's "iss" if it is a string, else "".
// It is only for choosing which provider should verify the token.
func (t *Token) UnverifiedIssuer() string {
	if iss := t.claims[claimIss]; iss.Type == gjson.String {
		return iss.Str
	}
	return ""
}

// Payload returns the decoded payload JSON. It must not be modified.
func (t *Token) Payload() []byte { return t.payloadBytes }

// RawPayloadSegment returns the base64url payload segment exactly as
// received, e.g. for forwarding the claims upstream without re-encoding.
func (t *Token) RawPayloadSegment() string { return t.payloadSeg }
