package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// TestCheck is every check of RFC 9449 section 4.3, each claim wrong,
// missing and of the wrong type, against one request at a fixed time.
func TestCheck(t *testing.T) {
	k := testkeys.Get()
	es := k.P256
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hdr := header("ES256", es)
	valid := func(c string) string { return proofFor(es, "ES256", hdr, c) }
	at := func(d time.Duration) string {
		return `,"iat":` + strconv.FormatFloat(float64(testNow.Add(d).UnixNano())/1e9, 'f', -1, 64)
	}
	withIat := func(iat string) string {
		return valid(strings.Replace(claimsWithout("iat"), `{`, `{"iat":`+iat+`,`, 1))
	}
	hmacProof := func(h string) string {
		input := testkeys.Encode([]byte(h)) + "." + testkeys.Encode([]byte(claims("")))
		m := hmac.New(sha256.New, []byte("the public key, as a secret"))
		m.Write([]byte(input))
		return input + "." + testkeys.Encode(m.Sum(nil))
	}
	jkt := thumbprintOf(t, es)
	last := byte('A')
	if jkt[len(jkt)-1] == 'A' {
		last = 'B'
	}
	offByOne := jkt[:len(jkt)-1] + string(last)

	tests := []struct {
		name  string
		proof string
		req   func(r *Request)
		opts  Options
		want  error
	}{
		{name: "valid ES256", proof: valid(claims(""))},
		{name: "valid ES384", proof: proofFor(k.P384, "ES384", header("ES384", k.P384), claims(""))},
		{name: "valid EdDSA", proof: proofFor(k.Ed25519, "EdDSA", header("EdDSA", k.Ed25519), claims(""))},
		{name: "valid RS256", proof: proofFor(k.RSA, "RS256", header("RS256", k.RSA), claims(""))},
		{name: "valid PS256", proof: proofFor(k.RSA, "PS256", header("PS256", k.RSA), claims(""))},
		{name: "valid POST", proof: valid(strings.Replace(claims(""), `"GET"`, `"POST"`, 1)), req: func(r *Request) { r.Method = "POST" }},

		// The DPoP header.
		{name: "no DPoP header", proof: valid(claims("")), req: func(r *Request) { r.Proofs = 0 }, want: ErrMissing},
		{name: "two DPoP headers", proof: valid(claims("")), req: func(r *Request) { r.Proofs = 2 }, want: ErrMultiple},
		{name: "empty", proof: "", want: ErrMalformed},
		{name: "two proofs joined", proof: valid(claims("")) + "," + valid(claims("")), want: ErrMalformed},
		{name: "four segments", proof: valid(claims("")) + ".AA", want: ErrMalformed},
		{name: "too large", proof: valid(claims(`,"pad":"` + strings.Repeat("x", MaxSize) + `"`)), want: ErrMalformed},

		// typ.
		{name: "typ missing", proof: proofFor(es, "ES256", strings.Replace(hdr, `"typ":"dpop+jwt",`, "", 1), claims("")), want: ErrMalformed},
		{name: "typ jwt", proof: proofFor(es, "ES256", strings.Replace(hdr, `dpop+jwt`, "jwt", 1), claims("")), want: ErrMalformed},
		{name: "typ number", proof: proofFor(es, "ES256", strings.Replace(hdr, `"dpop+jwt"`, "1", 1), claims("")), want: ErrMalformed},
		{name: "typ application/dpop+jwt", proof: proofFor(es, "ES256", strings.Replace(hdr, `dpop+jwt`, "application/dpop+jwt", 1), claims(""))},
		{name: "typ in upper case", proof: proofFor(es, "ES256", strings.Replace(hdr, `dpop+jwt`, "DPoP+JWT", 1), claims(""))},
		{name: "typ twice", proof: proofFor(es, "ES256", strings.Replace(hdr, `{`, `{"typ":"jwt",`, 1), claims("")), want: ErrMalformed},

		// alg.
		{name: "alg none", proof: testkeys.Encode([]byte(strings.Replace(hdr, "ES256", "none", 1))) + "." + testkeys.Encode([]byte(claims(""))) + ".AA", want: ErrAlgorithm},
		{name: "alg none, no signature", proof: testkeys.Encode([]byte(strings.Replace(hdr, "ES256", "none", 1))) + "." + testkeys.Encode([]byte(claims(""))) + ".", want: ErrMalformed},
		{name: "alg HS256 with the EC jwk", proof: hmacProof(strings.Replace(hdr, "ES256", "HS256", 1)), want: ErrAlgorithm},
		{name: "alg HS256 with a symmetric jwk", proof: hmacProof(`{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}`), want: ErrKey},
		{name: "alg missing", proof: proofFor(es, "ES256", strings.Replace(hdr, `"alg":"ES256",`, "", 1), claims("")), want: ErrMalformed},
		{name: "alg number", proof: proofFor(es, "ES256", strings.Replace(hdr, `"ES256"`, "7", 1), claims("")), want: ErrMalformed},
		{name: "alg not in the allow-list", proof: valid(claims("")), opts: Options{Algorithms: []string{"EdDSA", "PS256"}}, want: ErrAlgorithm},
		{name: "alg es256 in lower case", proof: proofFor(es, "ES256", strings.Replace(hdr, "ES256", "es256", 1), claims("")), want: ErrAlgorithm},
		{name: "alg ES256, RSA jwk", proof: proofFor(k.RSA, "RS256", strings.Replace(header("RS256", k.RSA), "RS256", "ES256", 1), claims("")), want: ErrKey},
		{name: "alg ES384, P-256 jwk", proof: proofFor(es, "ES256", strings.Replace(hdr, "ES256", "ES384", 1), claims("")), want: ErrKey},
		{name: "crit", proof: proofFor(es, "ES256", strings.Replace(hdr, `{`, `{"crit":["exp"],`, 1), claims("")), want: ErrMalformed},

		// jwk.
		{name: "jwk missing", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256"}`, claims("")), want: ErrMalformed},
		{name: "jwk a string", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":"x"}`, claims("")), want: ErrMalformed},
		{name: "jwk with d", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":`+testkeys.JWK("", es.Public(), `,"d":"`+testkeys.Encode(es.D.Bytes())+`"`)+`}`, claims("")), want: ErrKey},
		{name: "jwk with d null", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":`+testkeys.JWK("", es.Public(), `,"d":null`)+`}`, claims("")), want: ErrKey},
		{name: "jwk of an RSA key with p", proof: proofFor(k.RSA, "RS256", `{"typ":"dpop+jwt","alg":"RS256","jwk":`+testkeys.JWK("", k.RSA.Public(), `,"p":"AQAB"`)+`}`, claims("")), want: ErrKey},
		{name: "jwk off the curve", proof: proofFor(es, "ES256", strings.Replace(hdr, `"y":"`, `"y":"A`, 1), claims("")), want: ErrKey},
		{name: "jwk use enc", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":`+testkeys.JWK("", es.Public(), `,"use":"enc"`)+`}`, claims("")), want: ErrKey},
		{name: "jwk alg other than the header's", proof: proofFor(es, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":`+testkeys.JWK("", es.Public(), `,"alg":"ES384"`)+`}`, claims("")), want: ErrKey},
		{name: "jwk RSA-1024", proof: proofFor(k.RSA1024, "RS256", header("RS256", k.RSA1024), claims("")), want: ErrKey},
		{name: "jwk of another key", proof: proofFor(other, "ES256", hdr, claims("")), want: ErrSignature},

		// The signature.
		{name: "signature of another payload", proof: func() string {
			p := strings.Split(valid(claims("")), ".")
			return p[0] + "." + testkeys.Encode([]byte(claims(`,"x":1`))) + "." + p[2]
		}(), want: ErrSignature},
		{name: "signature in DER", proof: func() string {
			p := strings.Split(valid(claims("")), ".")
			return p[0] + "." + p[1] + "." + testkeys.Encode(testkeys.SignDER(es, "ES256", []byte(p[0]+"."+p[1])))
		}(), want: ErrSignature},

		// htm.
		{name: "htm missing", proof: valid(claimsWithout("htm")), want: ErrMalformed},
		{name: "htm a number", proof: valid(strings.Replace(claims(""), `"GET"`, "1", 1)), want: ErrMalformed},
		{name: "htm empty", proof: valid(strings.Replace(claims(""), `"GET"`, `""`, 1)), want: ErrMalformed},
		{name: "htm of another method", proof: valid(strings.Replace(claims(""), `"GET"`, `"POST"`, 1)), want: ErrMethod},
		{name: "htm in lower case", proof: valid(strings.Replace(claims(""), `"GET"`, `"get"`, 1)), want: ErrMethod},

		// htu.
		{name: "htu missing", proof: valid(claimsWithout("htu")), want: ErrMalformed},
		{name: "htu an array", proof: valid(strings.Replace(claims(""), `"https://api.example/resource"`, `["https://api.example/resource"]`, 1)), want: ErrMalformed},
		{name: "htu of another host", proof: valid(strings.Replace(claims(""), `api.example`, `api.example.evil`, 1)), want: ErrURI},
		{name: "htu of another path", proof: valid(strings.Replace(claims(""), `/resource`, `/resources`, 1)), want: ErrURI},
		{name: "htu of another scheme", proof: valid(strings.Replace(claims(""), `https:`, `http:`, 1)), want: ErrURI},
		{name: "htu of another port", proof: valid(strings.Replace(claims(""), `api.example/`, `api.example:8443/`, 1)), want: ErrURI},
		{name: "htu relative", proof: valid(strings.Replace(claims(""), `https://api.example`, ``, 1)), want: ErrURI},
		{name: "htu with user information", proof: valid(strings.Replace(claims(""), `https://`, `https://user@`, 1)), want: ErrURI},
		{name: "htu with the query", proof: valid(strings.Replace(claims(""), `/resource`, `/resource?q=1`, 1))},
		{name: "htu with another query and a fragment", proof: valid(strings.Replace(claims(""), `/resource`, `/resource?x=2#f`, 1))},
		{name: "htu with the default port", proof: valid(strings.Replace(claims(""), `api.example/`, `api.example:443/`, 1))},
		{name: "htu in upper case", proof: valid(strings.Replace(claims(""), `https://api.example`, `HTTPS://API.Example`, 1))},
		{name: "htu with an escaped unreserved character", proof: valid(strings.Replace(claims(""), `/resource`, `/%72esource`, 1))},
		{name: "htu with a dot segment", proof: valid(strings.Replace(claims(""), `/resource`, `/a/../resource`, 1))},
		{name: "request on the default port, htu without", proof: valid(claims("")), req: func(r *Request) { r.Authority = "API.example:443" }},
		{name: "request over http", proof: valid(claims("")), req: func(r *Request) { r.Scheme = "http" }, want: ErrURI},
		{name: "request without authority", proof: valid(claims("")), req: func(r *Request) { r.Authority = "" }, want: ErrURI},
		{name: "configured origin", proof: valid(strings.Replace(claims(""), `api.example`, `public.example`, 1)),
			opts: Options{Origins: []string{"https://Public.example:443"}}},
		{name: "configured origin, htu of the request's", proof: valid(claims("")),
			opts: Options{Origins: []string{"https://public.example"}}, want: ErrURI},

		// iat.
		{name: "iat missing", proof: valid(claimsWithout("iat")), want: ErrMalformed},
		{name: "iat a string", proof: withIat(`"` + strconv.FormatInt(testNow.Unix(), 10) + `"`), want: ErrMalformed},
		{name: "iat null", proof: withIat(`null`), want: ErrMalformed},
		{name: "iat beyond float64", proof: withIat(`1e400`), want: ErrMalformed},
		{name: "iat negative", proof: withIat(`-1`), want: ErrMalformed},
		{name: "iat a minute old", proof: valid(claimsWithout("iat")[:len(claimsWithout("iat"))-1] + at(-60*time.Second) + `}`)},
		{name: "iat 61 s old", proof: valid(claimsWithout("iat")[:len(claimsWithout("iat"))-1] + at(-61*time.Second) + `}`), want: ErrTime},
		{name: "iat 5 s ahead", proof: valid(claimsWithout("iat")[:len(claimsWithout("iat"))-1] + at(5*time.Second) + `}`)},
		{name: "iat 5.5 s ahead", proof: valid(claimsWithout("iat")[:len(claimsWithout("iat"))-1] + at(5500*time.Millisecond) + `}`), want: ErrTime},
		{name: "iat 10 minutes old, maxAge 15m", proof: valid(claimsWithout("iat")[:len(claimsWithout("iat"))-1] + at(-10*time.Minute) + `}`), opts: Options{MaxAge: 15 * time.Minute}},

		// jti.
		{name: "jti missing", proof: valid(claimsWithout("jti")), want: ErrMalformed},
		{name: "jti a number", proof: valid(strings.Replace(claims(""), `"jti-1"`, `1`, 1)), want: ErrMalformed},
		{name: "jti empty", proof: valid(strings.Replace(claims(""), `"jti-1"`, `""`, 1)), want: ErrMalformed},
		{name: "jti of MaxJTI bytes", proof: valid(strings.Replace(claims(""), `"jti-1"`, `"`+strings.Repeat("j", MaxJTI)+`"`, 1))},
		{name: "jti too long", proof: valid(strings.Replace(claims(""), `"jti-1"`, `"`+strings.Repeat("j", MaxJTI+1)+`"`, 1)), want: ErrMalformed},

		// ath.
		{name: "ath missing", proof: valid(claimsWithout("ath")), want: ErrMalformed},
		{name: "ath a number", proof: valid(strings.Replace(claims(""), `"`+AccessTokenHash(testToken)+`"`, `1`, 1)), want: ErrMalformed},
		{name: "ath of another token", proof: valid(strings.Replace(claims(""), AccessTokenHash(testToken), AccessTokenHash(testToken+"x"), 1)), want: ErrAccessToken},
		{name: "ath padded", proof: valid(strings.Replace(claims(""), AccessTokenHash(testToken), AccessTokenHash(testToken)+"=", 1)), want: ErrAccessToken},
		{name: "ath of the token, another token presented", proof: valid(claims("")), req: func(r *Request) { r.AccessToken = "another.access.token" }, want: ErrAccessToken},

		// The token's binding.
		{name: "thumbprint off by one character", proof: valid(claims("")), req: func(r *Request) { r.JKT = offByOne }, want: ErrKeyBinding},
		{name: "token bound to another key", proof: valid(claims("")), req: func(r *Request) { r.JKT = thumbprintOf(t, other) }, want: ErrKeyBinding},
		{name: "token not bound", proof: valid(claims("")), req: func(r *Request) { r.JKT = "" }, want: ErrKeyBinding},

		// Other claims and members.
		{name: "nonce a number, not required", proof: valid(claims(`,"nonce":1`)), want: ErrMalformed},
		{name: "nonce present, not required", proof: valid(claims(`,"nonce":"n"`))},
		{name: "duplicate claim", proof: valid(claims(`,"htm":"GET"`)), want: ErrMalformed},
		{name: "payload an array", proof: valid(`[]`), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest()
			r.Proof = tt.proof
			if p, err := Parse(tt.proof); err == nil {
				r.JKT = p.Thumbprint()
			}
			if tt.req != nil {
				tt.req(r)
			}
			err := newTestChecker(t, tt.opts).Check(r)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Check: %v, want %v", err, tt.want)
			}
			if err != nil && Reason(err) != tt.want.Error() {
				t.Errorf("Reason %q, want %q", Reason(err), tt.want.Error())
			}
		})
	}
}

// TestCode maps each error to its RFC 9449 error code.
func TestCode(t *testing.T) {
	for err, want := range map[error]string{
		ErrNonce:        "use_dpop_nonce",
		ErrKeyBinding:   "invalid_token",
		ErrSignature:    "invalid_dpop_proof",
		ErrReplayed:     "invalid_dpop_proof",
		errTyp:          "invalid_dpop_proof",
		ErrMissing:      "invalid_dpop_proof",
		errors.New("x"): "",
	} {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestReplayedProof: the same proof twice is refused the second time, a
// new jti from the same key passes, and so does the same jti from another
// key (the cache is keyed by both).
func TestReplayedProof(t *testing.T) {
	k := testkeys.Get()
	rc, err := NewReplayCache(NewMemoryStore(), "test", 1024, DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestChecker(t, Options{Replay: rc})
	check := func(p string) error {
		r := testRequest()
		r.Proof = p
		pp, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		r.JKT = pp.Thumbprint()
		return c.Check(r)
	}
	first := proofFor(k.P256, "ES256", header("ES256", k.P256), claims(""))
	if err := check(first); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := check(first); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v, want ErrReplayed", err)
	}
	// ECDSA signatures are malleable: (r, n-s) verifies too. The cache
	// keys on the key and the jti, never on the signature bytes.
	parts := strings.Split(first, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	malleated := parts[0] + "." + parts[1] + "." + testkeys.Encode(append(sig[:32:32], s.FillBytes(make([]byte, 32))...))
	if err := check(malleated); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay with the signature malleated: %v, want ErrReplayed", err)
	}
	if err := check(proofFor(k.P256, "ES256", header("ES256", k.P256), strings.Replace(claims(""), "jti-1", "jti-2", 1))); err != nil {
		t.Fatalf("new jti: %v", err)
	}
	if err := check(proofFor(k.P384, "ES384", header("ES384", k.P384), claims(""))); err != nil {
		t.Fatalf("same jti, another key: %v", err)
	}
}

// TestNonceRequired: without a nonce, or with one this Envoy did not issue
// or that expired, ErrNonce; with a fresh one the proof passes.
func TestNonceRequired(t *testing.T) {
	k := testkeys.Get()
	store := NewMemoryStore()
	nonces, err := NewNonces(store, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestChecker(t, Options{Nonces: nonces})
	foreign, err := NewNonces(NewMemoryStore(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, extra string
		want        error
	}{
		{"none", "", ErrNonce},
		{"fresh", `,"nonce":"` + nonces.Issue(testNow) + `"`, nil},
		{"four minutes old", `,"nonce":"` + nonces.Issue(testNow.Add(-4*time.Minute)) + `"`, nil},
		{"six minutes old", `,"nonce":"` + nonces.Issue(testNow.Add(-6*time.Minute)) + `"`, ErrNonce},
		{"from the future", `,"nonce":"` + nonces.Issue(testNow.Add(time.Minute)) + `"`, ErrNonce},
		{"another Envoy's", `,"nonce":"` + foreign.Issue(testNow) + `"`, ErrNonce},
		{"garbage", `,"nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v"`, ErrNonce},
		{"a number", `,"nonce":7`, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest()
			r.Proof = proofFor(k.P256, "ES256", header("ES256", k.P256), claims(tt.extra))
			r.JKT = thumbprintOf(t, k.P256)
			if err := c.Check(r); tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Check: %v, want %v", err, tt.want)
			}
		})
	}
}
