package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/dpop"
	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// dpopDoc is a configuration with issuer A (RS256, Authorization) bound by
// ruleA's extra members, and issuer B (ES256, x-token) bound by ruleB's.
func dpopDoc(ruleA, ruleB, top string) string {
	return `{"jwtRules":[
	  {"issuer":"` + issA + `","audiences":["api"],"jwksUri":"https://a.example/jwks","outputClaimToHeaders":[{"header":"x-sub","claim":"sub"}]` + ruleA + `},
	  {"issuer":"` + issB + `","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"fromHeaders":[{"name":"x-token","prefix":""}]` + ruleB + `}
	]` + top + `}`
}

// authWithDPoP is authWith with the DPoP state in memory.
func authWithDPoP(t testing.TB, doc string) *Authenticator {
	t.Helper()
	a := authWith(t, doc)
	if err := a.ShareDPoPState(dpop.NewMemoryStore()); err != nil {
		t.Fatal(err)
	}
	return a
}

// dpopClient is a client with a DPoP key, making proofs.
type dpopClient struct {
	key crypto.Signer
	jkt string
	n   atomic.Int64
}

func newDPoPClient(t testing.TB) *dpopClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &dpopClient{key: key}
	p, err := dpop.Parse(c.proof("GET", "https://api.example/r", "t"))
	if err != nil {
		t.Fatal(err)
	}
	c.jkt = p.Thumbprint()
	return c
}

// proof is a fresh proof for method and htu with token's ath.
func (c *dpopClient) proof(method, htu, token string, extra ...string) string {
	claims := fmt.Sprintf(`{"htm":%q,"htu":%q,"iat":%d,"jti":"jti-%d","ath":%q%s}`,
		method, htu, time.Now().Unix(), c.n.Add(1), dpop.AccessTokenHash(token), strings.Join(extra, ""))
	return testkeys.SignToken(c.key, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":`+testkeys.JWK("", c.key.Public(), "")+`}`, claims)
}

// boundToken is an issuer A token with cnf.
func boundToken(cnf string) string {
	return tokenA(claimsA(`,"cnf":` + cnf))
}

// dpopRequest is a GET https://api.example/r?x=1 with the token in the
// DPoP scheme and the proofs given.
func dpopRequest(token string, proofs ...string) [][2]string {
	h := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example"}, {":path", "/r?x=1"},
		{"authorization", "DPoP " + token}}
	for _, p := range proofs {
		h = append(h, [2]string{"dpop", p})
	}
	return h
}

func challenges(d Decision) []string {
	var out []string
	if d.Response != nil {
		for _, h := range d.Response.Headers {
			if h[0] == "www-authenticate" {
				out = append(out, h[1])
			}
		}
	}
	return out
}

func header(d Decision, name string) string {
	if d.Response != nil {
		for _, h := range d.Response.Headers {
			if h[0] == name {
				return h[1]
			}
		}
	}
	return ""
}

// TestDPoP: the DPoP scheme with its proof, the token from the cache or
// not, the proof checked on every request; a bound token as a bearer
// token; the answers' challenges.
func TestDPoP(t *testing.T) {
	c := newDPoPClient(t)
	other := newDPoPClient(t)
	tok := boundToken(`{"jkt":"` + c.jkt + `"}`)
	unbound := tokenA(claimsA(""))
	const htu = "https://api.example/r"
	keys := keySets(t)

	t.Run("allowed", func(t *testing.T) {
		a := authWithDPoP(t, dpopDoc(`,"dpop":{"mode":"allowed","algorithms":["ES256","EdDSA"]}`, "", ""))
		d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys)
		if d.Outcome != Allow || d.FromCache {
			t.Fatalf("first request: %v %v (cache %v)", d.Outcome, d.Err, d.FromCache)
		}
		if !contains(d.Remove, "authorization") || !contains(d.Remove, "dpop") || setMap(d)["x-sub"] != "alice" {
			t.Errorf("remove %q set %q", d.Remove, d.Set)
		}
		d = a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys)
		if d.Outcome != Allow || !d.FromCache {
			t.Fatalf("second request, new proof: %v %v (cache %v)", d.Outcome, d.Err, d.FromCache)
		}
		// From the cache, the proof is still checked: every failure.
		replayed := c.proof("GET", htu, tok)
		if d := a.Authenticate(dpopRequest(tok, replayed), keys); d.Outcome != Allow {
			t.Fatal(d.Err)
		}
		for _, tt := range []struct {
			name    string
			headers [][2]string
			err     error
			code    string
		}{
			{"replayed proof", dpopRequest(tok, replayed), dpop.ErrReplayed, "invalid_dpop_proof"},
			{"no proof", dpopRequest(tok), dpop.ErrMissing, "invalid_dpop_proof"},
			{"two proofs", dpopRequest(tok, c.proof("GET", htu, tok), c.proof("GET", htu, tok)), dpop.ErrMultiple, "invalid_dpop_proof"},
			{"another key's proof", dpopRequest(tok, other.proof("GET", htu, tok)), dpop.ErrKeyBinding, "invalid_token"},
			{"proof for POST", dpopRequest(tok, c.proof("POST", htu, tok)), dpop.ErrMethod, "invalid_dpop_proof"},
			{"proof for another URL", dpopRequest(tok, c.proof("GET", "https://api.example/other", tok)), dpop.ErrURI, "invalid_dpop_proof"},
			{"proof with the ath of another token", dpopRequest(tok, c.proof("GET", htu, unbound)), dpop.ErrAccessToken, "invalid_dpop_proof"},
			{"bound token as Bearer", [][2]string{{"authorization", "Bearer " + tok}}, ErrBoundAsBearer, ""},
			{"bound token as bearer with its proof", [][2]string{{"authorization", "Bearer " + tok}, {"dpop", c.proof("GET", htu, tok)}}, ErrBoundAsBearer, ""},
			{"unbound token in the DPoP scheme", dpopRequest(unbound, c.proof("GET", htu, unbound)), ErrNotDPoPBound, "invalid_token"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				d := a.Authenticate(tt.headers, keys)
				if d.Outcome != Deny || !errors.Is(d.Err, tt.err) {
					t.Fatalf("%v %v, want Deny %v", d.Outcome, d.Err, tt.err)
				}
				want := `Bearer realm="edgejwt", error="invalid_token", error_description="` + Reason(tt.err) + `"`
				if tt.code != "" {
					want = `DPoP realm="edgejwt", error="` + tt.code + `", error_description="` + Reason(tt.err) + `", algs="ES256 EdDSA"`
				}
				if got := challenges(d); len(got) != 1 || got[0] != want || d.Response.Status != 401 {
					t.Errorf("%d %q, want 401 [%q]", d.Response.Status, got, want)
				}
			})
		}
		// A plain bearer token still passes under "allowed".
		if d := a.Authenticate([][2]string{{"authorization", "Bearer " + unbound}}, keys); d.Outcome != Allow {
			t.Errorf("unbound bearer token: %v", d.Err)
		}
		// No token: both challenges.
		d = a.Authenticate([][2]string{{":path", "/"}}, keys)
		if got := challenges(d); len(got) != 2 || got[0] != `Bearer realm="edgejwt"` || got[1] != `DPoP realm="edgejwt", algs="ES256 EdDSA"` {
			t.Errorf("no token: %q", got)
		}
		// A token refused for itself, in the DPoP scheme, gets a DPoP challenge.
		expired := tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","exp":%d,"cnf":{"jkt":%q}}`, issA, time.Now().Add(-time.Hour).Unix(), c.jkt))
		d = a.Authenticate(dpopRequest(expired, c.proof("GET", htu, expired)), keys)
		if got := challenges(d); len(got) != 1 || got[0] != `DPoP realm="edgejwt", error="invalid_token", error_description="token expired", algs="ES256 EdDSA"` {
			t.Errorf("expired token in the DPoP scheme: %q", got)
		}
	})

	t.Run("bound token as Bearer on a rule without dpop", func(t *testing.T) {
		a := authWithDPoP(t, dpopDoc("", "", ""))
		d := a.Authenticate([][2]string{{"authorization", "Bearer " + tok}}, keys)
		if d.Outcome != Deny || !errors.Is(d.Err, ErrBoundAsBearer) {
			t.Fatalf("%v %v", d.Outcome, d.Err)
		}
		if got := challenges(d); len(got) != 1 || !strings.HasPrefix(got[0], `Bearer realm="edgejwt", error="invalid_token"`) {
			t.Errorf("%q", got)
		}
		// The DPoP scheme is no token source there.
		if d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys); !errors.Is(d.Err, ErrNoToken) {
			t.Errorf("DPoP scheme without dpop: %v", d.Err)
		}
		// Nor under allow_missing_or_failed does it pass with its claims.
		a = authWithDPoP(t, dpopDoc("", "", `,"rules":[{"match":{"prefix":"/"},"requirement":"allow_missing_or_failed"}]`))
		d = a.Authenticate(get("/r", [2]string{"authorization", "Bearer " + tok}), keys)
		if d.Outcome != Allow || !errors.Is(d.Err, ErrBoundAsBearer) || len(d.Set) != 0 || !contains(d.Remove, "authorization") {
			t.Errorf("allow_missing_or_failed: %v %v set %q remove %q", d.Outcome, d.Err, d.Set, d.Remove)
		}
	})

	t.Run("required", func(t *testing.T) {
		a := authWithDPoP(t, dpopDoc(`,"dpop":{"mode":"required"}`, "", ""))
		d := a.Authenticate([][2]string{{"authorization", "Bearer " + unbound}}, keys)
		if d.Outcome != Deny || !errors.Is(d.Err, ErrDPoPRequired) {
			t.Fatalf("bearer token: %v %v", d.Outcome, d.Err)
		}
		if got := challenges(d); len(got) != 1 || !strings.HasPrefix(got[0], `DPoP realm="edgejwt", error="invalid_token", error_description="DPoP required", algs="RS256 `) {
			t.Errorf("%q", got)
		}
		if d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys); d.Outcome != Allow {
			t.Errorf("DPoP: %v", d.Err)
		}
		// Issuer B has no dpop: its bearer tokens pass.
		if d := a.Authenticate([][2]string{{"x-token", tokenB("bob")}}, keys); d.Outcome != Allow {
			t.Errorf("issuer B: %v", d.Err)
		}
	})

	t.Run("nonce", func(t *testing.T) {
		a := authWithDPoP(t, dpopDoc(`,"dpop":{"mode":"allowed","requireNonce":true,"nonceLifetime":"1m"}`, "", `,"stripFailureResponse":true`))
		d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys)
		if d.Outcome != Deny || !errors.Is(d.Err, dpop.ErrNonce) {
			t.Fatalf("without a nonce: %v %v", d.Outcome, d.Err)
		}
		nonce := header(d, "dpop-nonce")
		if got := challenges(d); len(got) != 1 || !strings.HasPrefix(got[0], `DPoP realm="edgejwt", error="use_dpop_nonce", algs="`) || nonce == "" || d.Response.Body != nil {
			t.Fatalf("challenge %q nonce %q body %q", got, nonce, d.Response.Body)
		}
		if d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok, `,"nonce":"`+nonce+`"`)), keys); d.Outcome != Allow {
			t.Fatalf("with the nonce: %v", d.Err)
		}
		if d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok, `,"nonce":"x`+nonce[1:]+`"`)), keys); !errors.Is(d.Err, dpop.ErrNonce) {
			t.Fatalf("with a forged nonce: %v", d.Err)
		}
	})

	t.Run("state not shared", func(t *testing.T) {
		a := authWith(t, dpopDoc(`,"dpop":{"mode":"allowed"}`, "", ""))
		if d := a.Authenticate(dpopRequest(tok, c.proof("GET", htu, tok)), keys); !errors.Is(d.Err, dpop.ErrReplayCheck) {
			t.Errorf("without ShareDPoPState: %v %v", d.Outcome, d.Err)
		}
	})

	t.Run("confirmation methods", func(t *testing.T) {
		a := authWithDPoP(t, dpopDoc(`,"dpop":{"mode":"allowed"}`, "", ""))
		for _, cnf := range []string{`"x"`, `{}`, `{"jkt":1}`, `{"jkt":""}`, `{"kid":"k1"}`, `{"jwk":{"kty":"EC"}}`, `{"jkt":"` + c.jkt + `","x5t":"abc"}`, `{"jkt":"a","jkt":"b"}`} {
			b := boundToken(cnf)
			for _, h := range [][][2]string{{{"authorization", "Bearer " + b}}, dpopRequest(b, c.proof("GET", htu, b))} {
				if d := a.Authenticate(h, keys); d.Outcome != Deny || !errors.Is(d.Err, ErrConfirmation) {
					t.Errorf("cnf %s (%s): %v %v", cnf, h[len(h)-1][0], d.Outcome, d.Err)
				}
			}
		}
	})
}

// TestCertificateBound: cnf["x5t#S256"] against the connection's client
// certificate.
func TestCertificateBound(t *testing.T) {
	keys := keySets(t)
	certDER := []byte("a certificate's DER")
	sum := sha256.Sum256(certDER)
	x5t := testkeys.Encode(sum[:])
	tok := boundToken(`{"x5t#S256":"` + x5t + `"}`)
	unbound := tokenA(claimsA(""))
	otherSum := sha256.Sum256([]byte("another certificate"))
	for _, tt := range []struct {
		name, rule string
		token      string
		digest     string // "" without a client certificate
		err        error
	}{
		{"right certificate", "", tok, hex.EncodeToString(sum[:]), nil},
		{"right certificate, upper-case hex", "", tok, strings.ToUpper(hex.EncodeToString(sum[:])), nil},
		{"another certificate", "", tok, hex.EncodeToString(otherSum[:]), ErrCertificateBinding},
		{"no certificate", "", tok, "", ErrNoClientCertificate},
		{"digest off by one character", "", tok, hex.EncodeToString(sum[:])[:63] + "0", ErrCertificateBinding},
		{"digest of another format", "", tok, x5t, ErrCertificateBinding},
		{"unbound token", "", unbound, "", nil},
		{"unbound token, mtls required", `,"mtls":{"mode":"required"}`, unbound, hex.EncodeToString(sum[:]), ErrCertificateRequired},
		{"bound token, mtls required", `,"mtls":{"mode":"required"}`, tok, hex.EncodeToString(sum[:]), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := authWithDPoP(t, dpopDoc(tt.rule, "", ""))
			calls := 0
			a.SetPeerCertificate(func() (string, bool) { calls++; return tt.digest, tt.digest != "" })
			for i := range 2 { // the second from the token cache
				d := a.Authenticate([][2]string{{"authorization", "Bearer " + tt.token}}, keys)
				if tt.err == nil && d.Outcome != Allow || tt.err != nil && (d.Outcome != Deny || !errors.Is(d.Err, tt.err)) {
					t.Fatalf("request %d: %v %v, want %v", i, d.Outcome, d.Err, tt.err)
				}
				if tt.err != nil {
					want := `Bearer realm="edgejwt", error="invalid_token", error_description="` + Reason(tt.err) + `"`
					if got := challenges(d); len(got) != 1 || got[0] != want {
						t.Errorf("%q, want [%q]", got, want)
					}
				}
			}
			if tt.token == unbound && tt.rule == "" && calls != 0 {
				t.Errorf("%d certificate reads for an unbound token", calls)
			}
		})
	}
}

func TestCertificateMatches(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	x5t := testkeys.Encode(sum[:])
	for digest, want := range map[string]bool{
		hex.EncodeToString(sum[:]):                    true,
		strings.ToUpper(hex.EncodeToString(sum[:])):   true,
		hex.EncodeToString(sum[:]) + "00":             false,
		hex.EncodeToString(sum[:31]):                  false,
		"zz" + hex.EncodeToString(sum[:])[2:]:         false,
		"sha256:" + hex.EncodeToString(sum[:])[7:]:    false,
		strconv.Quote(hex.EncodeToString(sum[:]))[1:]: false,
	} {
		if got := certificateMatches(x5t, digest); got != want {
			t.Errorf("certificateMatches(%q) = %v, want %v", digest, got, want)
		}
	}
}

// TestBindingBeforeConditions: with a request rule's claim conditions, the
// binding is checked first (a bound token without its proof is not
// authenticated: 401, whatever its scopes), then the conditions (403); a
// request made with the DPoP scheme gets the 403 with a DPoP challenge.
// From the token cache as on the first request.
func TestBindingBeforeConditions(t *testing.T) {
	c := newDPoPClient(t)
	keys := keySets(t)
	const htu = "https://api.example/r"
	rules := `,"rules":[{"match":{"prefix":"/"},"requirement":"required","scopes":["orders:write"]}]`
	a := authWithDPoP(t, dpopDoc(`,"dpop":{"mode":"allowed"}`, "", rules))
	reader := tokenA(claimsA(`,"scope":"orders:read","cnf":{"jkt":"` + c.jkt + `"}`))
	writer := tokenA(claimsA(`,"scope":"orders:write","cnf":{"jkt":"` + c.jkt + `"}`))
	for i := range 2 {
		d := a.Authenticate(dpopRequest(reader, c.proof("GET", htu, reader)), keys)
		if d.Outcome != Deny || !errors.Is(d.Err, ErrInsufficientScope) || d.Response.Status != 403 {
			t.Fatalf("request %d, a reader's token with its proof: %v %v", i, d.Outcome, d.Err)
		}
		if got := challenges(d); len(got) != 1 || !strings.HasPrefix(got[0], `DPoP realm="edgejwt", error="insufficient_scope"`) || !strings.Contains(got[0], `algs="`) {
			t.Errorf("request %d: challenges %q", i, got)
		}
		d = a.Authenticate(dpopRequest(reader), keys)
		if d.Outcome != Deny || d.Response.Status != 401 || !errors.Is(d.Err, dpop.ErrMissing) {
			t.Fatalf("request %d, a reader's token without a proof: %v %v", i, d.Outcome, d.Err)
		}
		d = a.Authenticate([][2]string{{":method", "GET"}, {":path", "/r"}, {"authorization", "Bearer " + reader}}, keys)
		if d.Outcome != Deny || d.Response.Status != 401 || !errors.Is(d.Err, ErrBoundAsBearer) {
			t.Fatalf("request %d, a reader's token as a bearer token: %v %v", i, d.Outcome, d.Err)
		}
		d = a.Authenticate(dpopRequest(writer, c.proof("GET", htu, writer)), keys)
		if d.Outcome != Allow || d.FromCache != (i == 1) || !contains(d.Remove, "dpop") {
			t.Fatalf("request %d, a writer's token with its proof: %v %v (cache %v, remove %q)", i, d.Outcome, d.Err, d.FromCache, d.Remove)
		}
	}
}

// TestCachedBearerAllocations: a plain bearer token from the cache
// allocates nothing, with DPoP and certificate binding configured or not
// (only the proof check of a DPoP request allocates).
func TestCachedBearerAllocations(t *testing.T) {
	keys := keySets(t)
	h := [][2]string{{":method", "GET"}, {":path", "/r"}, {"authorization", "Bearer " + tokenA(claimsA(""))}, {"accept", "*/*"}}
	for name, rule := range map[string]string{
		"no sender constraints": "",
		"dpop allowed":          `,"dpop":{"mode":"allowed"}`,
	} {
		a := authWithDPoP(t, dpopDoc(rule, "", ""))
		if d := a.Authenticate(h, keys); d.Outcome != Allow {
			t.Fatal(d.Err)
		}
		n := testing.AllocsPerRun(100, func() {
			if d := a.Authenticate(h, keys); d.Outcome != Allow || !d.FromCache {
				t.Fatal(d.Err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations on a cache hit", name, n)
		}
	}
}
