package verifier

// Differential test against go-jose v4 (test-only dependency).
//
// Every case is a token and the public key both sides get. go-jose parses
// it with the same algorithm allow-list, verifies it with that key, and
// validates the claims with jwt.Claims.ValidateWithLeeway plus our
// RequireExpiration rule. Whenever the two disagree, the token must fall
// under one of the documented differences below, in the stated direction,
// and each documented difference must actually show up, so the list is
// exactly the set of differences observed.
//
// We reject, go-jose accepts (we are deliberately stricter):
//   - diffWhitespace: CR or LF inside the token. Go's base64 decoder, which
//     go-jose uses directly, skips them.
//   - diffNonCanonical: base64url with non-zero unused trailing bits; go-jose
//     does not use a strict decoder.
//   - diffUTF8: invalid UTF-8 in the header or payload JSON; go-jose's JSON
//     decoder replaces it with U+FFFD.
//   - diffCritB64: any "crit" or "b64" header member; go-jose understands
//     crit ["b64"] and "b64": true, and accepts an empty crit list.
//   - diffNull: null as the value of "kid" or of a registered claim (iss,
//     sub, aud, exp, nbf, iat, jti); go-jose treats null as absent or "".
//   - diffFraction: a fractional "nbf" or "iat" just past the boundary;
//     go-jose truncates NumericDates to whole seconds, we compare exactly.
//   - diffDepth: arrays and objects nested more than 64 deep. gjson
//     validates recursively and on wasm deep recursion overflows the
//     engine's call stack, so we refuse such JSON up front.
//   - diffPSSSalt: PS* signatures whose salt length is not the hash size;
//     go-jose verifies with rsa.PSSSaltLengthAuto.
//   - diffRSASmall: RSA keys below 2048 bits; go-jose relies on crypto/rsa,
//     which allows 1024.
//   - diffDateRange: a NumericDate after year 9999 or before year 1, such as
//     "exp": 1e12; go-jose accepts any below 2^62 in magnitude (and refuses
//     larger ones, as we do).
//
// We accept, go-jose rejects:
//   - diffIgnoredHeader: malformed "jwk", "x5c" or "nonce" header members, or
//     duplicate names nested in a header member. We never use these members,
//     so we do not parse them; go-jose does and fails.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

type diffKind string

const (
	diffWhitespace    diffKind = "CR/LF inside the token"
	diffNonCanonical  diffKind = "non-canonical base64url"
	diffUTF8          diffKind = "invalid UTF-8 in JSON"
	diffCritB64       diffKind = "crit or b64 header"
	diffNull          diffKind = "null kid or registered claim"
	diffFraction      diffKind = "fractional nbf/iat at the boundary"
	diffDepth         diffKind = "JSON nested more than 64 deep"
	diffPSSSalt       diffKind = "PSS salt length not the hash size"
	diffRSASmall      diffKind = "RSA key below 2048 bits"
	diffDateRange     diffKind = "NumericDate beyond years 1 to 9999"
	diffIgnoredHeader diffKind = "malformed header member we ignore"
)

// weAreStricter tells the direction of each difference: true means we
// reject what go-jose accepts.
var weAreStricter = map[diffKind]bool{
	diffWhitespace:    true,
	diffNonCanonical:  true,
	diffUTF8:          true,
	diffCritB64:       true,
	diffNull:          true,
	diffFraction:      true,
	diffDepth:         true,
	diffPSSSalt:       true,
	diffRSASmall:      true,
	diffDateRange:     true,
	diffIgnoredHeader: false,
}

type diffCase struct {
	name  string
	token string
	alg   string // the algorithm the token was made with
	pub   crypto.PublicKey
}

// diffConfig is one verifier configuration applied to both sides.
type diffConfig struct {
	name      string
	audiences []string
}

var diffConfigs = []diffConfig{
	{name: "aud api", audiences: []string{"api"}},
	{name: "no aud", audiences: nil},
}

func TestDifferentialGoJOSE(t *testing.T) {
	cases := diffCases(t)
	observed := map[diffKind]int{}
	example := map[diffKind]string{}
	var agreeAccept, agreeReject int
	for _, cfg := range diffConfigs {
		v := newVerifier(t, func(o *Options) { o.Audiences = cfg.audiences })
		for _, c := range cases {
			ours, claims := ourVerdict(v, c)
			theirs, jc := joseVerdict(c, cfg)
			if (ours == nil) == (theirs == nil) {
				if ours == nil {
					agreeAccept++
					if claims.Get("sub").String() != jc.Subject || claims.Get("iss").String() != jc.Issuer {
						t.Errorf("%s [%s]: claims differ: ours %s, go-jose %+v", c.name, cfg.name, claims.JSON(), jc)
					}
				} else {
					agreeReject++
				}
				continue
			}
			kinds := classify(c)
			explained := false
			for _, k := range kinds {
				if weAreStricter[k] == (ours != nil) {
					observed[k]++
					explained = true
					if _, ok := example[k]; !ok {
						example[k] = c.name
					}
				}
			}
			if !explained {
				t.Errorf("%s [%s]: undocumented difference: ours=%v go-jose=%v (kinds %v)\n  token %q",
					c.name, cfg.name, ours, theirs, kinds, c.token)
			}
		}
	}
	t.Logf("%d cases x %d configs: both accept %d, both reject %d", len(cases), len(diffConfigs), agreeAccept, agreeReject)
	for k := range weAreStricter {
		t.Logf("difference %-40q seen %3d times, e.g. %.70q", k, observed[k], example[k])
		if observed[k] == 0 {
			t.Errorf("documented difference %q never observed; update the list", k)
		}
	}
	if agreeAccept < 100 {
		t.Errorf("only %d accepted tokens; the corpus is too weak", agreeAccept)
	}
}

func ourVerdict(v *Verifier, c diffCase) (error, Claims) {
	tok, err := Parse(c.token, 0)
	if err != nil {
		return err, Claims{}
	}
	claims, err := v.Verify(tok, pubKey(c.pub))
	return err, claims
}

var errJOSEMissingExp = errors.New("go-jose harness: no exp")

func joseVerdict(c diffCase, cfg diffConfig) (error, jwt.Claims) {
	algs := make([]jose.SignatureAlgorithm, len(testkeys.Algorithms))
	for i, a := range testkeys.Algorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	tok, err := jwt.ParseSigned(c.token, algs)
	if err != nil {
		return err, jwt.Claims{}
	}
	var claims jwt.Claims
	if err := tok.Claims(c.pub, &claims); err != nil {
		return err, jwt.Claims{}
	}
	if claims.Expiry == nil { // RequireExpiration
		return errJOSEMissingExp, jwt.Claims{}
	}
	err = claims.ValidateWithLeeway(jwt.Expected{
		Issuer:      testIssuer,
		AnyAudience: cfg.audiences,
		Time:        testNow,
	}, DefaultClockSkew)
	return err, claims
}

// classify lists the documented differences that apply to c, judged from
// the token and key alone.
func classify(c diffCase) []diffKind {
	var kinds []diffKind
	if strings.ContainsAny(c.token, "\r\n") {
		kinds = append(kinds, diffWhitespace)
	}
	clean := strings.NewReplacer("\r", "", "\n", "").Replace(c.token)
	segs := strings.Split(clean, ".")
	if len(segs) != 3 {
		return kinds
	}
	var dec [3][]byte
	for i, s := range segs {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return kinds
		}
		if base64.RawURLEncoding.EncodeToString(b) != s {
			kinds = append(kinds, diffNonCanonical)
		}
		dec[i] = b
	}
	header, payload := dec[0], dec[1]
	if !utf8.Valid(header) || !utf8.Valid(payload) {
		kinds = append(kinds, diffUTF8)
	}
	if jsonDepth(header) > 64 || jsonDepth(payload) > 64 {
		kinds = append(kinds, diffDepth)
	}

	var h map[string]json.RawMessage
	if json.Unmarshal(header, &h) == nil {
		if _, ok := h["crit"]; ok {
			kinds = append(kinds, diffCritB64)
		} else if _, ok := h["b64"]; ok {
			kinds = append(kinds, diffCritB64)
		}
		if string(h["kid"]) == "null" {
			kinds = append(kinds, diffNull)
		}
		for _, name := range []string{"jwk", "x5c", "nonce"} {
			if _, ok := h[name]; ok {
				kinds = append(kinds, diffIgnoredHeader)
			}
		}
		if hasNestedDuplicate(header) {
			kinds = append(kinds, diffIgnoredHeader)
		}
	}

	var p map[string]json.RawMessage
	if json.Unmarshal(payload, &p) == nil {
		for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"} {
			if string(p[name]) == "null" {
				kinds = append(kinds, diffNull)
			}
		}
		for _, name := range []string{"exp", "nbf", "iat"} {
			f, err := strconv.ParseFloat(string(p[name]), 64)
			if len(p[name]) == 0 || (err != nil && !errors.Is(err, strconv.ErrRange)) {
				continue
			}
			if f > maxNumericDate || f < minNumericDate {
				kinds = append(kinds, diffDateRange)
			}
			if name != "exp" && f != math.Trunc(f) {
				kinds = append(kinds, diffFraction)
			}
		}
	}

	switch pub := c.pub.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			kinds = append(kinds, diffRSASmall)
		}
		if strings.HasPrefix(c.alg, "PS") && pssOnlyWithOtherSalt(pub, c.alg, clean) {
			kinds = append(kinds, diffPSSSalt)
		}
	}
	return kinds
}

// pssOnlyWithOtherSalt reports whether the token's PSS signature verifies
// with an automatically detected salt length but not with salt == hash.
func pssOnlyWithOtherSalt(pub *rsa.PublicKey, alg, token string) bool {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		return false
	}
	h := crypto.SHA256
	var digest []byte
	switch alg {
	case "PS384":
		d := sha512.Sum384([]byte(token[:i]))
		h, digest = crypto.SHA384, d[:]
	case "PS512":
		d := sha512.Sum512([]byte(token[:i]))
		h, digest = crypto.SHA512, d[:]
	default:
		d := sha256.Sum256([]byte(token[:i]))
		digest = d[:]
	}
	auto := rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	equal := rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	return auto == nil && equal != nil
}

// hasNestedDuplicate reports a duplicate member name in any object nested
// inside the top-level object b.
func hasNestedDuplicate(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj   bool
		names map[string]bool
		key   bool // next token in an object is a name
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.obj && top.key {
				if s, ok := tok.(string); ok {
					if len(stack) > 1 && top.names[s] {
						return true
					}
					top.names[s] = true
					top.key = false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return false
			}
		}
		// A value was completed: the enclosing object expects a name next.
		if top := stack[len(stack)-1]; top.obj {
			top.key = true
		}
	}
}

// diffCases builds the corpus: valid tokens for every algorithm, header and
// claim variants re-signed with the right key, raw mutations of valid
// tokens, random byte flips in the JSON re-signed, and key/signature
// variants.
func diffCases(t *testing.T) []diffCase {
	k := testkeys.Get()
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []diffCase
	add := func(name, alg string, pub crypto.PublicKey, token string) {
		cases = append(cases, diffCase{name: name, token: token, alg: alg, pub: pub})
	}
	signed := func(name, alg, header, payload string) {
		add(name, alg, k.Public(alg), k.Token(alg, header, payload))
	}

	now := int64(testNowUnix)
	basePayloads := []string{
		validPayload,
		fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":["web","api"],"exp":%d,"nbf":%d,"jti":"j1"}`, testIssuer, now+60, now-5),
		claimsJSON(`"realm_access":{"roles":["admin"]},"email":"a@b.c","n":1.5e3`),
	}

	for _, alg := range testkeys.Algorithms {
		for i, p := range basePayloads {
			signed(fmt.Sprintf("%s base %d", alg, i), alg, hdr(alg), p)
		}
		for i, h := range headerVariants(alg) {
			signed(fmt.Sprintf("%s header %d %s", alg, i, h), alg, h, validPayload)
		}
		// Swapped alg: header names another algorithm, signature and key
		// are for alg.
		for _, other := range append(slices.Clone(testkeys.Algorithms), "none", "HS256") {
			if other == alg {
				continue
			}
			tok := k.Token(alg, hdr(alg), validPayload)
			add(alg+" swapped to "+other, alg, k.Public(alg), replaceSegment(tok, 0, enc(hdr(other))))
			if other != "none" && other != "HS256" {
				add(alg+" signed as "+other, alg, k.Public(alg), k.Token(other, hdr(other), validPayload))
			}
		}
	}

	// Claim variants for two algorithms (signing is the slow part).
	for _, alg := range []string{"EdDSA", "RS256"} {
		for i, p := range payloadVariants(now) {
			signed(fmt.Sprintf("%s payload %d %s", alg, i, p), alg, hdr(alg), p)
		}
	}

	// Raw mutations of valid tokens, not re-signed.
	for _, alg := range testkeys.Algorithms {
		base := k.Token(alg, hdr(alg), validPayload)
		for i := range 60 {
			m, what := mutateRaw(rng, base)
			add(fmt.Sprintf("%s raw mutation %d (%s)", alg, i, what), alg, k.Public(alg), m)
		}
	}

	// Random bit flips in the decoded JSON, re-signed so only the JSON
	// handling is tested.
	for _, alg := range []string{"EdDSA", "ES256", "PS256"} {
		for i := range 150 {
			h, p := hdr(alg), basePayloads[i%len(basePayloads)]
			if i%3 == 0 {
				h = flipJSON(rng, h)
			} else {
				p = flipJSON(rng, p)
			}
			signed(fmt.Sprintf("%s JSON flip %d", alg, i), alg, h, p)
		}
	}

	// Keys and signature encodings.
	for _, alg := range []string{"RS256", "PS256"} {
		add(alg+" RSA-1024", alg, &k.RSA1024.PublicKey, testkeys.SignToken(k.RSA1024, alg, hdr(alg), validPayload))
	}
	for _, alg := range []string{"PS256", "PS384", "PS512"} {
		h := map[string]crypto.Hash{"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512}[alg]
		for _, salt := range []int{0, 20, 32, 48, 64, rsa.PSSSaltLengthAuto} {
			tok := k.Token(alg, hdr(alg), validPayload)
			input := tok[:strings.LastIndexByte(tok, '.')]
			sig := testkeys.SignPSS(k.RSA, h, []byte(input), salt)
			add(fmt.Sprintf("%s salt %d", alg, salt), alg, &k.RSA.PublicKey, input+"."+testkeys.Encode(sig))
		}
	}
	for _, alg := range []string{"ES256", "ES384"} {
		priv := k.Private(alg).(*ecdsa.PrivateKey)
		tok := k.Token(alg, hdr(alg), validPayload)
		input := tok[:strings.LastIndexByte(tok, '.')]
		add(alg+" DER signature", alg, &priv.PublicKey, input+"."+testkeys.Encode(testkeys.SignDER(priv, alg, []byte(input))))
	}
	// Wrong key types for the algorithm.
	for _, alg := range testkeys.Algorithms {
		for _, other := range []string{"RS256", "ES256", "ES384", "EdDSA"} {
			if keyFamily(other) == keyFamily(alg) {
				continue
			}
			add(alg+" with key for "+other, alg, k.Public(other), k.Token(alg, hdr(alg), validPayload))
		}
	}
	// Key confusion: HS256 with the RSA public key as the HMAC secret.
	der, err := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	add("HS256 with RSA key as secret", "RS256", &k.RSA.PublicKey, hmacToken(`{"alg":"HS256"}`, validPayload, der))
	return cases
}

// keyFamily names the key type (and curve) an algorithm needs.
func keyFamily(alg string) string {
	if alg[0] == 'R' || alg[0] == 'P' {
		return "RSA"
	}
	return alg
}

func headerVariants(alg string) []string {
	q := strconv.Quote(alg)
	return []string{
		`{"alg":` + q + `}`,
		`{"alg":` + q + `,"kid":""}`,
		`{"alg":` + q + `,"kid":1}`,
		`{"alg":` + q + `,"kid":null}`,
		`{"alg":` + q + `,"kid":["k"]}`,
		`{"alg":` + q + `,"typ":1,"cty":null}`,
		`{"alg":` + q + `,"crit":["b64"],"b64":true}`,
		`{"alg":` + q + `,"crit":[]}`,
		`{"alg":` + q + `,"crit":["exp"],"exp":1}`,
		`{"alg":` + q + `,"crit":"b64"}`,
		`{"alg":` + q + `,"b64":true}`,
		`{"alg":` + q + `,"b64":false,"crit":["b64"]}`,
		`{"alg":` + q + `,"jwk":{}}`,
		`{"alg":` + q + `,"jwk":{"kty":"oct","k":"AAAA"}}`,
		`{"alg":` + q + `,"x5c":["AAAA"]}`,
		`{"alg":` + q + `,"x5c":"AAAA"}`,
		`{"alg":` + q + `,"jku":"https://evil.example/jwks","x5u":1}`,
		`{"alg":` + q + `,"nonce":1}`,
		`{"alg":` + q + `,"zip":"DEF"}`,
		`{"alg":` + q + `,"x":{"a":1,"a":2}}`,
		`{"alg":` + q + `,"x":[{"a":1,"a":1}]}`,
		`{"alg":` + q + `,"alg":` + q + `}`,
		`{"alg":"none","alg":` + q + `}`,
		`{"a\u006cg":` + q + `}`,
		`{"alg":` + q + `,"a\u006cg":` + q + `}`,
		`{"ALG":` + q + `}`,
		`{"Alg":` + q + `,"alg":` + q + `}`,
		`{"alg":` + strconv.Quote(strings.ToLower(alg)) + `}`,
		`{"alg":` + strconv.Quote(" "+alg) + `}`,
		`{"alg":"` + strings.Replace(alg, "S", `\u0053`, 1) + `"}`,
		`{"alg":null}`,
		`{"alg":256}`,
		` {"alg":` + q + "}\n",
		"\uFEFF" + `{"alg":` + q + `}`,
		`{"alg":` + q + `}x`,
		`{"alg":` + q + `}{}`,
		`{"alg":` + q + `,"x":"` + "\xff" + `"}`,
		`[{"alg":` + q + `}]`,
		`"` + alg + `"`,
		`null`,
		`{}`,
		`{"alg":` + q + `,"x":"\ud800"}`,
	}
}

func payloadVariants(now int64) []string {
	n := func(d int64) string { return strconv.FormatInt(now+d, 10) }
	iss := strconv.Quote(testIssuer)
	exp := `"exp":` + n(3600)
	ok := `"iss":` + iss + `,"aud":"api",` + exp
	return []string{
		`{` + ok + `}`,
		`{` + ok + `,"sub":"s","jti":"j","iat":` + n(0) + `,"nbf":` + n(0) + `}`,
		// exp
		`{"iss":` + iss + `,"aud":"api"}`,
		`{"iss":` + iss + `,"aud":"api","exp":` + n(-61) + `}`,
		`{"iss":` + iss + `,"aud":"api","exp":` + n(-60) + `}`,
		`{"iss":` + iss + `,"aud":"api","exp":` + n(-59) + `}`,
		`{"iss":` + iss + `,"aud":"api","exp":` + n(-60) + `.5}`,
		`{"iss":` + iss + `,"aud":"api","exp":` + n(-61) + `.5}`,
		`{"iss":` + iss + `,"aud":"api","exp":"` + n(3600) + `"}`,
		`{"iss":` + iss + `,"aud":"api","exp":null}`,
		`{"iss":` + iss + `,"aud":"api","exp":true}`,
		`{"iss":` + iss + `,"aud":"api","exp":1e300}`,
		`{"iss":` + iss + `,"aud":"api","exp":1e400}`,
		`{"iss":` + iss + `,"aud":"api","exp":4611686018427387904}`,
		`{"iss":` + iss + `,"aud":"api","exp":4611686018427387903}`,
		`{"iss":` + iss + `,"aud":"api","exp":-1e300}`,
		`{"iss":` + iss + `,"aud":"api","exp":1.7e9}`,
		`{"iss":` + iss + `,"aud":"api","exp":17000036E5}`,
		`{"iss":` + iss + `,"aud":"api","exp":01}`,
		`{"iss":` + iss + `,"aud":"api","exp":-0}`,
		`{"iss":` + iss + `,"aud":"api","EXP":` + n(3600) + `}`,
		`{"iss":` + iss + `,"aud":"api","e\u0078p":` + n(3600) + `}`,
		// nbf, iat
		`{` + ok + `,"nbf":` + n(60) + `}`,
		`{` + ok + `,"nbf":` + n(61) + `}`,
		`{` + ok + `,"nbf":` + n(60) + `.5}`,
		`{` + ok + `,"nbf":` + n(59) + `.5}`,
		`{` + ok + `,"nbf":1e300}`,
		`{` + ok + `,"nbf":-1e300}`,
		`{` + ok + `,"nbf":null}`,
		`{` + ok + `,"nbf":"0"}`,
		`{` + ok + `,"iat":` + n(60) + `}`,
		`{` + ok + `,"iat":` + n(61) + `}`,
		`{` + ok + `,"iat":` + n(60) + `.25}`,
		`{` + ok + `,"iat":-1e300}`,
		`{` + ok + `,"iat":null}`,
		// iss
		`{"aud":"api",` + exp + `}`,
		`{"iss":"https://evil.example","aud":"api",` + exp + `}`,
		`{"iss":"https:\/\/issuer.example","aud":"api",` + exp + `}`,
		`{"iss":1,"aud":"api",` + exp + `}`,
		`{"iss":null,"aud":"api",` + exp + `}`,
		`{"iss":[` + iss + `],"aud":"api",` + exp + `}`,
		`{"Iss":` + iss + `,"aud":"api",` + exp + `}`,
		// aud
		`{"iss":` + iss + `,` + exp + `}`,
		`{"iss":` + iss + `,"aud":["x","api"],` + exp + `}`,
		`{"iss":` + iss + `,"aud":["x"],` + exp + `}`,
		`{"iss":` + iss + `,"aud":[],` + exp + `}`,
		`{"iss":` + iss + `,"aud":"API",` + exp + `}`,
		`{"iss":` + iss + `,"aud":1,` + exp + `}`,
		`{"iss":` + iss + `,"aud":null,` + exp + `}`,
		`{"iss":` + iss + `,"aud":["api",1],` + exp + `}`,
		`{"iss":` + iss + `,"aud":[["api"]],` + exp + `}`,
		`{"iss":` + iss + `,"aud":{"api":1},` + exp + `}`,
		// sub, jti, private claims
		`{` + ok + `,"sub":1}`,
		`{` + ok + `,"sub":null}`,
		`{` + ok + `,"jti":{}}`,
		`{` + ok + `,"jti":null}`,
		`{` + ok + `,"role":null,"x":[1,{"y":true}]}`,
		// duplicates and names
		`{` + ok + `,"exp":` + n(-3600) + `}`,
		`{` + ok + `,"iss":"https://evil.example"}`,
		`{` + ok + `,"role":"a","role":"b"}`,
		`{` + ok + `,"e\u0078p":1}`,
		`{` + ok + `,"o":{"a":1,"a":2}}`,
		`{` + ok + `,"o":[{"a":1,"a":2}]}`,
		// shape and encoding
		"\uFEFF{" + ok + `}`,
		"\n{" + ok + "}\t",
		`{` + ok + `}x`,
		`{` + ok + `}{}`,
		`{` + ok + `,"x":"` + "\xff" + `"}`,
		`{` + ok + `,"x":"` + "\xed\xa0\x80" + `"}`,
		`{` + ok + `,"x":"\ud800"}`,
		`{` + ok + `,"x":"` + "\x01" + `"}`,
		`{` + ok + `,"x":1.}`,
		`{` + ok + `,"x":.5}`,
		`{` + ok + `,"x":+1}`,
		`{` + ok + `,"x":1e}`,
		`{` + ok + `,"x":-}`,
		`{` + ok + `,"x":"\x"}`,
		`{` + ok + `,"x":"\u12"}`,
		`{` + ok + `,"x":tru}`,
		`{` + ok + `,}`,
		`{` + ok + `,"x":[1,]}`,
		`{` + ok + `,"x":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
		`{` + ok + `,"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
		`{` + ok + `,"x":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`,
		`[` + `{` + ok + `}]`,
		`null`,
		`"x"`,
		`{}`,
	}
}

// mutateRaw applies one random structural mutation to a token string.
func mutateRaw(rng *rand.Rand, tok string) (string, string) {
	b := []byte(tok)
	pos := rng.IntN(len(b))
	segs := strings.Split(tok, ".")
	si := rng.IntN(3)
	switch rng.IntN(12) {
	case 0:
		if b[pos] != '.' {
			b[pos] = b64chars[rng.IntN(64)]
		}
		return string(b), "replace char"
	case 1:
		b[pos] ^= 1 << rng.IntN(8)
		return string(b), "flip bit"
	case 2:
		segs[si] += strings.Repeat("=", 1+rng.IntN(2))
		return strings.Join(segs, "."), "padding"
	case 3:
		ws := []string{"\r\n", "\n", "\r", " ", "\t"}[rng.IntN(5)]
		s := segs[si]
		at := rng.IntN(len(s) + 1)
		segs[si] = s[:at] + ws + s[at:]
		return strings.Join(segs, "."), "whitespace"
	case 4:
		return string(b[:pos]) + string(b[pos+1:]), "delete char"
	case 5:
		return string(b[:pos]) + string(b[pos]) + string(b[pos:]), "duplicate char"
	case 6:
		segs[0], segs[1] = segs[1], segs[0]
		return strings.Join(segs, "."), "swap segments"
	case 7:
		return tok + "." + segs[2], "extra segment"
	case 8:
		return segs[0] + "." + segs[1] + segs[2], "missing dot"
	case 9:
		s := segs[si]
		if len(s)%4 == 0 {
			return tok, "unchanged"
		}
		last := strings.IndexByte(b64chars, s[len(s)-1])
		segs[si] = s[:len(s)-1] + string(b64chars[(last+1+rng.IntN(3))%64])
		return strings.Join(segs, "."), "trailing bits"
	case 10:
		r := strings.NewReplacer("-", "+", "_", "/")
		segs[si] = r.Replace(segs[si])
		return strings.Join(segs, "."), "std alphabet"
	default:
		segs[si] = ""
		return strings.Join(segs, "."), "empty segment"
	}
}

// flipJSON changes one random byte of s: a bit flip or a random
// JSON-significant character.
func flipJSON(rng *rand.Rand, s string) string {
	b := []byte(s)
	i := rng.IntN(len(b))
	if rng.IntN(2) == 0 {
		b[i] ^= 1 << rng.IntN(8)
	} else {
		const chars = `{}[]",:\ 0123456789.eE-+tfnul` + "\x00\xff"
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}
