package authn

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/jwkscache"
	"github.com/edgejwt/edgejwt/verifier"
)

// countingKeys counts key lookups: a lookup means a signature check.
type countingKeys struct {
	ks      verifier.KeySource
	lookups int
}

func (c *countingKeys) Key(kid, alg string) (*verifier.Key, error) {
	c.lookups++
	return c.ks.Key(kid, alg)
}

func rsaKeys(t testing.TB) *countingKeys {
	t.Helper()
	ks, _, err := jwkscache.Parse([]byte(testkeys.JWKS(testkeys.JWK("a1", testkeys.Get().Public("RS256"), ""))))
	if err != nil {
		t.Fatal(err)
	}
	return &countingKeys{ks: ks}
}

func TestTokenCache(t *testing.T) {
	a := newAuth(t, "")
	now := time.Now()
	a.cache.now = func() time.Time { return now }
	keys := rsaKeys(t)
	current := verifier.KeySource(keys)
	keysFn := func(rule int) verifier.KeySource {
		if rule != 0 {
			return nil
		}
		return current
	}
	exp := now.Add(time.Minute).Unix()
	tok := tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"alice","roles":["r1","r2"],"exp":%d}`, issA, exp))
	req := [][2]string{{"authorization", "Bearer " + tok}}

	miss := a.Authenticate(req, keysFn)
	if miss.Outcome != Allow || keys.lookups != 1 || a.cache.Len() != 1 {
		t.Fatalf("first request: %v, %d lookups, %d cached", miss.Err, keys.lookups, a.cache.Len())
	}
	hit := a.Authenticate(req, keysFn)
	if hit.Outcome != Allow || keys.lookups != 1 {
		t.Fatalf("second request verified again (%d lookups): %v", keys.lookups, hit.Err)
	}
	if !hit.FromCache || miss.FromCache {
		t.Errorf("FromCache: hit %v, miss %v", hit.FromCache, miss.FromCache)
	}
	hit.FromCache = false
	if !reflect.DeepEqual(hit, miss) {
		t.Errorf("a hit decides differently:\n hit  %+v\n miss %+v", hit, miss)
	}

	// The token from a place its issuer does not read: not served.
	if d := a.Authenticate([][2]string{{"x-token", tok}}, keysFn); d.Outcome != Deny {
		t.Errorf("cached token accepted from x-token: %+v", d)
	}

	// Until exp + clock skew (60 s), then verified again.
	now = time.Unix(exp, 0).Add(59 * time.Second)
	a.Authenticate(req, keysFn)
	if keys.lookups != 1 {
		t.Error("miss before exp + skew")
	}
	now = time.Unix(exp, 0).Add(61 * time.Second)
	a.Authenticate(req, keysFn)
	if keys.lookups != 2 {
		t.Error("hit after exp + skew")
	}

	// A new key set (a key removed, say) is a new identity: verified again.
	now = time.Now()
	a.Authenticate(req, keysFn)
	before := keys.lookups
	current = &countingKeys{ks: keys.ks}
	a.Authenticate(req, keysFn)
	if keys.lookups != before || current.(*countingKeys).lookups != 1 {
		t.Error("a new key set did not invalidate the cached verdict")
	}
	// No key set (stale): never served from the cache.
	current = nil
	if d := a.Authenticate(req, keysFn); d.Outcome != Wait {
		t.Errorf("with no key set: %+v", d)
	}
}

func TestTokenCacheRefusalsAreNotCached(t *testing.T) {
	a := newAuth(t, "")
	keys := rsaKeys(t)
	keysFn := func(int) verifier.KeySource { return keys }
	tok := tokenA(fmt.Sprintf(`{"iss":%q,"aud":"other","exp":%d}`, issA, time.Now().Add(time.Hour).Unix()))
	for range 2 {
		if d := a.Authenticate([][2]string{{"authorization", "Bearer " + tok}}, keysFn); d.Outcome != Deny {
			t.Fatal(d)
		}
	}
	if keys.lookups != 2 || a.cache.Len() != 0 {
		t.Fatalf("%d lookups, %d cached", keys.lookups, a.cache.Len())
	}
}

func TestTokenCacheBounds(t *testing.T) {
	c := newTokenCache(10, 4000, time.Now)
	exp := float64(time.Now().Add(time.Hour).Unix())
	for i := range 50 {
		c.put(fmt.Sprintf("token-%03d", i), 0, nil, exp, 0, [][2]string{{"x-sub", "alice"}}, nil, verdict{}, confirmation{})
		if c.Len() > 10 || c.bytes > 4000 {
			t.Fatalf("after %d puts: %d entries, %d bytes", i+1, c.Len(), c.bytes)
		}
	}
	big := make([]byte, 1500)
	c.put(string(big), 0, nil, exp, 0, nil, nil, verdict{}, confirmation{})
	if c.get(string(big), func(int) verifier.KeySource { return nil }) != nil {
		t.Error("a token of over a quarter of the byte bound was cached")
	}
	c.put("no-exp", 0, nil, 0, 0, nil, nil, verdict{}, confirmation{})
	if c.get("no-exp", func(int) verifier.KeySource { return nil }) != nil {
		t.Error("a token without exp was cached")
	}
	if newTokenCache(0, 4000, time.Now) != nil {
		t.Error("tokenCacheSize 0 does not disable the cache")
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.TokenCacheSize = 0
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := rsaKeys(t)
	keysFn := func(int) verifier.KeySource { return keys }
	req := [][2]string{{"authorization", "Bearer " + tokenA(claimsA(""))}}
	a.Authenticate(req, keysFn)
	a.Authenticate(req, keysFn)
	if keys.lookups != 2 {
		t.Fatalf("%d lookups with the cache disabled", keys.lookups)
	}
}

// Hit and miss cost of Authenticate with one RS256 token (make bench-go
// runs these natively and under wazero).
func BenchmarkAuthenticate(b *testing.B) {
	cfg, err := config.Parse([]byte(`{"jwtRules":[{"issuer":"` + issA + `","audiences":["api"],"jwksUri":"https://a.example/jwks",
	  "outputPayloadToHeader":"x-jwt-payload","outputClaimToHeaders":[{"header":"x-sub","claim":"sub"}]}]}`))
	if err != nil {
		b.Fatal(err)
	}
	ks, _, err := jwkscache.Parse([]byte(testkeys.JWKS(testkeys.JWK("a1", testkeys.Get().Public("RS256"), ""))))
	if err != nil {
		b.Fatal(err)
	}
	keysFn := func(int) verifier.KeySource { return ks }
	req := [][2]string{{":path", "/api"}, {":method", "GET"}, {"authorization", "Bearer " + tokenA(claimsA(""))}, {"accept", "*/*"}}
	// miss_presigned answers signatures outside Go, as hostCrypto does:
	// what remains is everything around the signature check.
	presigned := WithSignatureChecker(func(string, *verifier.Key, []byte, []byte) (bool, bool) { return true, true })
	for _, tc := range []struct {
		name  string
		cache int
		opts  []Option
	}{{"miss", 0, nil}, {"miss_presigned", 0, []Option{presigned}}, {"hit", 1000, nil}} {
		b.Run("cache_"+tc.name, func(b *testing.B) {
			cfg.TokenCacheSize = tc.cache
			a, err := New(cfg, tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			a.Authenticate(req, keysFn)
			b.ReportAllocs()
			for b.Loop() {
				if d := a.Authenticate(req, keysFn); d.Outcome != Allow {
					b.Fatal(d.Err)
				}
			}
		})
	}
}

// TestTokenCacheCopies: in the filter, header values point into the buffer
// the host filled for the request (hostabi reads them without a copy). A
// cache entry must own what it keeps: after the buffer is reused for the
// next request, a hit still finds the token and serves the outputs it was
// verified with. It also keeps no more than it counts.
func TestTokenCacheCopies(t *testing.T) {
	a := newAuth(t, "")
	keys := rsaKeys(t)
	keysFn := func(int) verifier.KeySource { return keys }
	tok := tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"alice","roles":["r1","r2"],"exp":%d}`, issA, time.Now().Add(time.Minute).Unix()))
	value := "Bearer " + tok
	buf := []byte(value) // the host's buffer
	aliased := unsafe.String(&buf[0], len(buf))
	miss := a.Authenticate([][2]string{{"authorization", aliased}}, keysFn)
	if miss.Outcome != Allow {
		t.Fatal(miss.Err)
	}
	want := fmt.Sprint(miss.Set)
	for i := range buf {
		buf[i] = 'x' // the next request's headers
	}
	hit := a.Authenticate([][2]string{{"authorization", value}}, keysFn)
	if !hit.FromCache || keys.lookups != 1 {
		t.Fatalf("no hit after the header buffer was reused: %+v", hit)
	}
	if got := fmt.Sprint(hit.Set); got != want {
		t.Errorf("cached outputs changed with the header buffer:\n got  %s\n want %s", got, want)
	}
}
