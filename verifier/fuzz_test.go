package verifier

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// oddInputs seed both fuzzers with shapes that have broken parsers before.
var oddInputs = []string{
	"",
	".",
	"..",
	"...",
	"....",
	"a.b.c",
	"e30.e30.e30",                 // {}.{}.{}
	"eyJhbGciOiJub25lIn0.e30.",    // alg none, empty signature
	"eyJhbGciOiJub25lIn0.e30.AA",  // alg none
	"eyJhbGciOiJIUzI1NiJ9.e30.AA", // HS256
	"eyJhbGciOiJSUzI1NiJ9.e30.AA==",
	"eyJhbGciOiJSUzI1NiJ9.e30.A\r\nA",
	"eyJhbGciOiJSUzI1NiJ9.e30.A+/A",
	"eyJhbGciOiJSUzI1NiJ9\n.e30.AA",
	"eyJhbGciOiJSUzI1NiJ9.e31.AA", // non-canonical {}
	"77u_eyJhbGciOiJSUzI1NiJ9.e30.AA",
	strings.Repeat("A", 9000),
	strings.Repeat(".", 100),
	"\xff\xfe.\x00.\x80",
}

// fuzzSeeds adds valid tokens for every algorithm and a few near misses.
func fuzzSeeds(f *testing.F) {
	k := testkeys.Get()
	for _, s := range oddInputs {
		f.Add(s)
	}
	for _, alg := range testkeys.Algorithms {
		f.Add(k.Token(alg, hdr(alg), validPayload))
		f.Add(k.Token(alg, `{"alg":"`+alg+`"}`, rawClaims(`"aud":["x","api"],"exp":1e300,"nbf":1.5,"iat":-1`)))
		f.Add(k.Token(alg, hdr(alg), rawClaims(`"aud":"api","exp":1,"nbf":99999999999`)))
		f.Add(k.Token(alg, hdr(alg), `{"exp":1,"exp":9999999999}`))
		f.Add(k.Token(alg, hdr(alg), `[]`))
	}
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw, 0)
		if want := referenceParse(raw, DefaultMaxSize); (err == nil) != want {
			t.Fatalf("Parse error = %v, reference accepts = %v", err, want)
		}
		if err != nil {
			if tok != nil {
				t.Fatal("token and error")
			}
			if Reason(err) == "invalid token" {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkParsedInvariants(t, raw, tok, DefaultMaxSize)
	})
}

// FuzzSegmentsJSON fuzzes the decoded header and payload directly, which
// reaches the JSON rules far better than mutating base64 text.
func FuzzSegmentsJSON(f *testing.F) {
	for _, h := range headerVariants("RS256") {
		f.Add(h, validPayload)
	}
	for _, p := range payloadVariants(testNowUnix) {
		f.Add(`{"alg":"ES256","kid":"k"}`, p)
	}
	f.Add(`{"alg":"RS256","\ud800\u0041":1,"\ufffdA":2}`, `{"\ud83d\ude00":1,"😀":2}`)
	f.Fuzz(func(t *testing.T, header, payload string) {
		raw := enc(header) + "." + enc(payload) + ".c2ln"
		const maxSize = 1 << 20
		tok, err := Parse(raw, maxSize)
		if want := referenceParse(raw, maxSize); (err == nil) != want {
			t.Fatalf("Parse error = %v, reference accepts = %v\nheader %q\npayload %q", err, want, header, payload)
		}
		if err == nil {
			checkParsedInvariants(t, raw, tok, maxSize)
		}
	})
}

// referenceParse is an independent model of Parse's rules built on
// encoding/base64 and encoding/json.
func referenceParse(raw string, maxSize int) bool {
	if len(raw) > maxSize {
		return false
	}
	segs := strings.Split(raw, ".")
	if len(segs) != 3 {
		return false
	}
	var dec [3][]byte
	for i, s := range segs {
		if s == "" || strings.Trim(s, b64chars) != "" {
			return false
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			return false
		}
		dec[i] = b
	}
	members := func(b []byte) map[string]json.RawMessage {
		if !utf8.Valid(b) || !json.Valid(b) || jsonDepth(b) > 64 {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader(b))
		if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
			return nil
		}
		m := map[string]json.RawMessage{}
		for d.More() {
			name, _ := d.Token()
			var v json.RawMessage
			if d.Decode(&v) != nil {
				return nil
			}
			if _, dup := m[name.(string)]; dup {
				return nil
			}
			m[name.(string)] = v
		}
		return m
	}
	h, p := members(dec[0]), members(dec[1])
	if h == nil || p == nil {
		return false
	}
	if alg, ok := h["alg"]; !ok || alg[0] != '"' {
		return false
	}
	if kid, ok := h["kid"]; ok && kid[0] != '"' {
		return false
	}
	_, crit := h["crit"]
	_, b64 := h["b64"]
	return !crit && !b64
}

// jsonDepth is the deepest nesting of arrays and objects in valid JSON b,
// counted with encoding/json's tokenizer; the top-level object is depth 1.
func jsonDepth(b []byte) int {
	d := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// checkParsedInvariants re-derives what Parse claims with the standard
// library: canonical segments, single UTF-8 JSON objects without duplicate
// top-level names, and matching accessors.
func checkParsedInvariants(t *testing.T, raw string, tok *Token, maxSize int) {
	t.Helper()
	if len(raw) > maxSize {
		t.Fatalf("accepted %d bytes", len(raw))
	}
	segs := strings.Split(raw, ".")
	if len(segs) != 3 {
		t.Fatalf("accepted %d segments", len(segs))
	}
	var dec [3][]byte
	for i, s := range segs {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(s) == 0 || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("segment %d %q is not canonical base64url", i, s)
		}
		dec[i] = b
	}
	header := objectMembers(t, dec[0])
	payload := objectMembers(t, dec[1])

	var alg string
	if json.Unmarshal(header["alg"], &alg) != nil || tok.Alg() != alg {
		t.Fatalf("Alg() = %q, header alg %s", tok.Alg(), header["alg"])
	}
	var kid string
	if k, ok := header["kid"]; ok && (json.Unmarshal(k, &kid) != nil || k[0] != '"') {
		t.Fatalf("kid %s accepted", k)
	}
	if tok.KeyID() != kid {
		t.Fatalf("KeyID() = %q, want %q", tok.KeyID(), kid)
	}
	for _, name := range []string{"crit", "b64"} {
		if _, ok := header[name]; ok {
			t.Fatalf("header with %q accepted", name)
		}
	}
	var iss string
	if v, ok := payload["iss"]; ok && v[0] == '"' {
		if err := json.Unmarshal(v, &iss); err != nil {
			t.Fatal(err)
		}
	}
	if tok.UnverifiedIssuer() != iss {
		t.Fatalf("UnverifiedIssuer() = %q, want %q", tok.UnverifiedIssuer(), iss)
	}
	if !bytes.Equal(tok.Payload(), dec[1]) || tok.RawPayloadSegment() != segs[1] {
		t.Fatal("payload accessors disagree with the token")
	}
}

// objectMembers checks that b is one UTF-8 JSON object with unique
// top-level names (as encoding/json unescapes them) and returns them.
func objectMembers(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	if !utf8.Valid(b) || !json.Valid(b) {
		t.Fatalf("accepted invalid JSON %q", b)
	}
	if jsonDepth(b) > 64 {
		t.Fatalf("accepted JSON nested %d deep", jsonDepth(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("accepted non-object %q", b)
	}
	m := map[string]json.RawMessage{}
	for d.More() {
		name, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if _, dup := m[name.(string)]; dup {
			t.Fatalf("accepted duplicate %q in %q", name, b)
		}
		m[name.(string)] = v
	}
	return m
}

func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	k := testkeys.Get()
	v, err := New(Options{
		Issuer:            testIssuer,
		Audiences:         []string{"api"},
		Algorithms:        testkeys.Algorithms,
		RequireExpiration: true,
		Now:               fixedNow,
	})
	if err != nil {
		f.Fatal(err)
	}
	keys := defaultKeys()
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw, 0)
		if err != nil {
			return
		}
		claims, err := v.Verify(tok, keys)
		if err != nil {
			if Reason(err) == "invalid token" {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		checkParsedInvariants(t, raw, tok, DefaultMaxSize)
		alg := tok.Alg()
		if !referenceVerify(alg, k.Public(alg), raw) {
			t.Fatalf("accepted a token whose %s signature does not verify", alg)
		}
		checkReferenceClaims(t, claims.JSON())
	})
}

// referenceVerify checks raw's signature with the standard library the
// plain way (ecdsa.Verify with big.Ints, not our DER path).
func referenceVerify(alg string, pub crypto.PublicKey, raw string) bool {
	i := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		return false
	}
	var h crypto.Hash
	var digest []byte
	switch alg[len(alg)-3:] {
	case "384":
		d := sha512.Sum384(input)
		h, digest = crypto.SHA384, d[:]
	case "512":
		d := sha512.Sum512(input)
		h, digest = crypto.SHA512, d[:]
	default:
		d := sha256.Sum256(input)
		h, digest = crypto.SHA256, d[:]
	}
	switch alg {
	case "RS256", "RS384", "RS512":
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), h, digest, sig) == nil
	case "PS256", "PS384", "PS512":
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES256", "ES384":
		size := len(sig) / 2
		if size != pub.(*ecdsa.PublicKey).Curve.Params().BitSize/8 || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest, r, s)
	case "EdDSA":
		return ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	}
	return false
}

// checkReferenceClaims re-checks an accepted payload with encoding/json
// against the fuzz verifier's options (issuer, audience "api", exp
// required, 60s skew, fixed clock).
func checkReferenceClaims(t *testing.T, payload []byte) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var c map[string]any
	if err := d.Decode(&c); err != nil {
		t.Fatalf("accepted payload encoding/json cannot read: %v", err)
	}
	if c["iss"] != testIssuer {
		t.Fatalf("accepted iss %v", c["iss"])
	}
	const skew = 60.0
	now := float64(testNowUnix)
	date := func(name string) (float64, bool) {
		v, ok := c[name]
		if !ok {
			return 0, false
		}
		n, isNum := v.(json.Number)
		if !isNum {
			t.Fatalf("accepted non-numeric %s %v", name, v)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			t.Fatalf("accepted %s %v: %v", name, n, err)
		}
		return f, true
	}
	exp, ok := date("exp")
	if !ok || now > exp+skew {
		t.Fatalf("accepted exp %v (present %v)", c["exp"], ok)
	}
	if nbf, ok := date("nbf"); ok && now+skew < nbf {
		t.Fatalf("accepted nbf %v", nbf)
	}
	if iat, ok := date("iat"); ok && iat > now+skew {
		t.Fatalf("accepted iat %v", iat)
	}
	for _, name := range []string{"sub", "jti"} {
		if v, ok := c[name]; ok {
			if _, isStr := v.(string); !isStr {
				t.Fatalf("accepted %s %v", name, v)
			}
		}
	}
	switch aud := c["aud"].(type) {
	case string:
		if aud != "api" {
			t.Fatalf("accepted aud %q", aud)
		}
	case []any:
		found := false
		for _, a := range aud {
			s, isStr := a.(string)
			if !isStr {
				t.Fatalf("accepted aud element %v", a)
			}
			found = found || s == "api"
		}
		if !found {
			t.Fatalf("accepted aud %v", aud)
		}
	default:
		t.Fatalf("accepted aud %v", c["aud"])
	}
}

// TestFuzzSeedsVerify checks that the fuzz invariants hold for a valid
// token of every algorithm, so that a successful Verify is really exercised
// by the reference checks even without -fuzz.
func TestFuzzSeedsVerify(t *testing.T) {
	k := testkeys.Get()
	v := newVerifier(t, nil)
	for _, alg := range testkeys.Algorithms {
		raw := k.Token(alg, hdr(alg), validPayload)
		tok, err := Parse(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(tok, defaultKeys())
		if err != nil {
			t.Fatal(err)
		}
		checkParsedInvariants(t, raw, tok, DefaultMaxSize)
		if !referenceVerify(alg, k.Public(alg), raw) {
			t.Fatalf("%s: reference rejects a valid token", alg)
		}
		checkReferenceClaims(t, c.JSON())
	}
}
