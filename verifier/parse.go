package verifier

import (
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// DefaultMaxSize is the token size limit Parse applies when maxSize <= 0.
const DefaultMaxSize = 8192

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
// verified. Token is the JWT view of one; a DPoP proof is another. Header,
// Payload and SigningInput are views (of the decoded bytes and of the raw
// string): they must not be modified.
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
// deep. Duplicate member names are the caller's to refuse (Members). It
// allocates once (the decoded segments); the JWS is returned by value.
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
	// Alphabet first, so that garbage costs no allocation: it refuses
	// whitespace, padding and '+' '/' (another alphabet).
	if !isBase64URL(raw[:dot2]) || !isBase64URL(sSeg) {
		return JWS{}, errBase64Alphabet
	}
	// One allocation holds the decoded header, payload and signature.
	hLen, pLen, sLen := decodedLen(len(hSeg)), decodedLen(len(pSeg)), decodedLen(len(sSeg))
	if hLen < 0 || pLen < 0 || sLen < 0 {
		return JWS{}, errBase64
	}
	buf := make([]byte, hLen+pLen+sLen)
	hDec, pDec, sig := buf[:hLen:hLen], buf[hLen:hLen+pLen:hLen+pLen], buf[hLen+pLen:]
	if !decodeSegment(hDec, hSeg) || !decodeSegment(pDec, pSeg) || !decodeSegment(sig, sSeg) {
		return JWS{}, errBase64
	}
	if err := checkObject(hDec); err != nil {
		return JWS{}, err
	}
	if err := checkObject(pDec); err != nil {
		return JWS{}, err
	}

	// gjson reads strings. buf is never written again, and the token is
	// immutable: both are viewed, not copied.
	js := unsafe.String(unsafe.SliceData(buf), hLen+pLen)
	return JWS{
		Header:         js[:hLen],
		Payload:        js[hLen:],
		PayloadBytes:   pDec,
		PayloadSegment: pSeg,
		SigningInput:   unsafe.Slice(unsafe.StringData(raw), dot2),
		Signature:      sig,
	}, nil
}

// base64URL maps a base64url character to its 6 bits, and every other
// byte to invalid.
var base64URL = func() (t [256]byte) {
	for i := range t {
		t[i] = invalid
	}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = byte(i)
	}
	return t
}()

const invalid = 0xff

// isBase64URL reports whether s has only base64url characters, and dots
// (s is the header and payload with the dot between them).
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if base64URL[s[i]] == invalid && s[i] != '.' {
			return false
		}
	}
	return true
}

// decodedLen is the decoded size of n base64url characters without
// padding, or -1 when no encoding has that length.
func decodedLen(n int) int {
	if n%4 == 1 {
		return -1
	}
	return n/4*3 + (n%4*3)/4
}

// decodeSegment decodes src, unpadded base64url that isBase64URL accepted,
// into dst, which has exactly its decoded length. It reports whether src
// was canonical: unused bits of the last character must be zero (RFC 4648
// section 3.5), so that one token has one spelling. (Go's decoder also
// skips CR and LF, and decodes eight characters at a time with 64-bit
// arithmetic; this is a plain table-driven loop, faster in Wasm.)
func decodeSegment(dst []byte, src string) bool {
	i, j := 0, 0
	for ; i+4 <= len(src); i, j = i+4, j+3 {
		v := uint32(base64URL[src[i]])<<18 | uint32(base64URL[src[i+1]])<<12 |
			uint32(base64URL[src[i+2]])<<6 | uint32(base64URL[src[i+3]])
		dst[j], dst[j+1], dst[j+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	switch len(src) - i {
	case 2:
		a, b := base64URL[src[i]], base64URL[src[i+1]]
		if b&0x0f != 0 {
			return false
		}
		dst[j] = a<<2 | b>>4
	case 3:
		a, b, c := base64URL[src[i]], base64URL[src[i+1]], base64URL[src[i+2]]
		if c&0x03 != 0 {
			return false
		}
		dst[j], dst[j+1] = a<<2|b>>4, b<<4|c>>2
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
