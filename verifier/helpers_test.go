package verifier

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// Fixed test clock and issuer. Claims in tests are written relative to
// testNow (1700000000).
const (
	testNowUnix = 1700000000
	testIssuer  = "https://issuer.example"
)

var testNow = time.Unix(testNowUnix, 0)

func fixedNow() time.Time { return testNow }

// keySourceFunc adapts a function to KeySource.
type keySourceFunc func(kid, alg string) (*Key, error)

func (f keySourceFunc) Key(kid, alg string) (*Key, error) { return f(kid, alg) }

// defaultKeys serves testkeys' default public key for the requested alg,
// and ErrUnknownKID for kid "unknown".
func defaultKeys() KeySource {
	k := testkeys.Get()
	return keySourceFunc(func(kid, alg string) (*Key, error) {
		if kid == "unknown" {
			return nil, ErrUnknownKID
		}
		return keyOf(&Key{ID: kid}, k.Public(alg)), nil
	})
}

// fixedKey always returns key.
func fixedKey(key *Key) KeySource {
	return keySourceFunc(func(string, string) (*Key, error) { return key, nil })
}

func pubKey(pub crypto.PublicKey) KeySource { return fixedKey(keyOf(&Key{}, pub)) }

// hdr is a typical header for alg.
func hdr(alg string) string { return fmt.Sprintf(`{"alg":%q,"typ":"JWT","kid":"k1"}`, alg) }

// at returns testNow+d in whole seconds, for writing claims.
func at(d time.Duration) int64 { return testNow.Add(d).Unix() }

// claimsJSON is a valid payload with the given extra members (raw JSON
// members, comma-separated, may be empty).
func claimsJSON(extra string) string {
	base := fmt.Sprintf(`"iss":%q,"sub":"alice","aud":"api","iat":%d,"exp":%d`,
		testIssuer, at(-time.Minute), at(time.Hour))
	if extra == "" {
		return "{" + base + "}"
	}
	return "{" + base + "," + extra + "}"
}

// rawClaims is a payload made only of the given members plus iss.
func rawClaims(members string) string {
	if members == "" {
		return fmt.Sprintf(`{"iss":%q}`, testIssuer)
	}
	return fmt.Sprintf(`{"iss":%q,%s}`, testIssuer, members)
}

var validPayload = claimsJSON("")

// unsigned builds header.payload.sig from JSON without signing.
func unsigned(header, payload, sig string) string {
	return testkeys.Encode([]byte(header)) + "." + testkeys.Encode([]byte(payload)) + "." + sig
}

func newVerifier(t testing.TB, mod func(*Options)) *Verifier {
	t.Helper()
	o := Options{
		Issuer:            testIssuer,
		Audiences:         []string{"api"},
		Algorithms:        testkeys.Algorithms,
		RequireExpiration: true,
		Now:               fixedNow,
	}
	if mod != nil {
		mod(&o)
	}
	v, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// checkErr fails unless err matches want (nil for success) with errors.Is,
// Reason agrees, and the error text carries no token data.
func checkErr(t *testing.T, err, want error, token string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	if got := Reason(err); got != want.Error() {
		t.Fatalf("Reason = %q, want %q", got, want.Error())
	}
	if len(token) > 16 && strings.Contains(err.Error(), token) {
		t.Fatalf("error text contains the token: %v", err)
	}
}

// segment returns the i-th dot-separated segment of token.
func segment(token string, i int) string { return strings.Split(token, ".")[i] }

// replaceSegment returns token with segment i replaced.
func replaceSegment(token string, i int, s string) string {
	parts := strings.Split(token, ".")
	parts[i] = s
	return strings.Join(parts, ".")
}

// keyOf puts pub into k where the verifier expects it: RSA keys in k.RSA,
// any other in k.Public.
func keyOf(k *Key, pub crypto.PublicKey) *Key {
	if r, ok := pub.(*rsa.PublicKey); ok {
		switch {
		case r == nil:
		case r.N == nil:
			k.RSA = &RSAKey{E: r.E}
		default:
			k.RSA = &RSAKey{N: r.N.Bytes(), E: r.E}
		}
	} else {
		k.Public = pub
	}
	return k
}
