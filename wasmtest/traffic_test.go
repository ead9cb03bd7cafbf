package wasmtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

const (
	issuer = "https://issuer.example"
	kid    = "key-1"
	// trafficSize is the number of requests each run drives, tickEvery
	// how many requests there are per tick.
	trafficSize = 3000
	tickEvery   = 50
	// Every spikeEvery-th request carries a cookie of spikeSize bytes
	// (within Envoy's default 60 KiB limit on request headers): memory the
	// heap needs for a moment and then leaves free, which is what the
	// runtime's scavenger releases.
	spikeEvery = 25
	spikeSize  = 48 << 10
	// tokenCacheSize keeps the filter's token cache, hence its live heap,
	// small: a heap that keeps growing reuses the spikes' memory before
	// the scavenger sees it free (with the default 1000 entries the
	// unpatched module died at 2929 requests in one run of three).
	tokenCacheSize = 50
)

// moduleEnv is the module's environment in every run.
//
// GOGC=1 makes the runtime collect every few dozen requests, and gctrace=1
// lets a test count the collections (one line each on stderr).
//
// gcstoptheworld=1 is what arms timers. Without it the filter never arms
// one, patched or not: its callbacks never block, so after the first GC
// cycle no goroutine but the callback's ever runs again (allocation assists
// do the marking, allocation the sweeping); the background scavenger, woken
// at each cycle, stays runnable and unscheduled and never sleeps on its
// timer, netpoll is never initialised, and the runtime never calls
// poll_oneoff (seen: 0 calls in 15000 requests, with and without the
// spikes). With gcstoptheworld=1 each collection yields to the scheduler,
// the scavenger runs, and once it has released memory it sleeps on a timer:
// from then on every stop-the-world ends with netpoll(0), the poll_oneoff
// the runtime patch answers in the module. TestUnpatchedRuntimeDiesOnOldEnvoy
// shows that this happens within the traffic.
var moduleEnv = map[string]string{"GOGC": "1", "GODEBUG": "gcstoptheworld=1,gctrace=1"}

// jwks is the issuer's key set, as a JWKS document.
func jwks() string {
	return testkeys.JWKS(testkeys.JWK(kid, testkeys.Get().Public("RS256"), `,"alg":"RS256","use":"sig"`))
}

// inlineConfig configures the filter with the key set inline: no fetch.
func inlineConfig() []byte {
	doc, _ := json.Marshal(jwks()) // the JWKS as a JSON string
	return []byte(`{"tokenCacheSize":` + strconv.Itoa(tokenCacheSize) + `,"jwtRules":[{"issuer":"` + issuer +
		`","jwks":` + string(doc) + `,"outputClaimToHeaders":[{"header":"x-jwt-sub","claim":"sub"}]}]}`)
}

// request is one request of the traffic and the answer it must get.
type request struct {
	kind    string
	headers [][2]string
	sub     string // allowed: the x-jwt-sub the upstream must receive
	reason  string // refused with a token: the reason in the 401
}

var (
	trafficOnce sync.Once
	traffic     []request
)

// mixedTraffic is the requests every run drives, built once per test binary
// (signing is the slow part): in every ten, five valid tokens with distinct
// claims of growing size, one valid token seen before (a cache hit) with a
// forged x-jwt-sub, an expired token, a token whose signature has one bit
// flipped, a malformed token and a request without a token; every
// spikeEvery-th request also carries a big cookie.
func mixedTraffic() []request {
	trafficOnce.Do(func() {
		keys := testkeys.Get()
		now := time.Now().Unix()
		sign := func(claims map[string]any) string {
			payload, err := json.Marshal(claims)
			if err != nil {
				panic(err)
			}
			return keys.Token("RS256", `{"alg":"RS256","typ":"JWT","kid":"`+kid+`"}`, string(payload))
		}
		claims := func(i int, exp int64) map[string]any {
			roles := make([]string, 1+i%16)
			for j := range roles {
				roles[j] = fmt.Sprintf("role-%d-%d", i, j)
			}
			return map[string]any{
				"iss": issuer, "sub": fmt.Sprintf("user-%d-%x", i, i*7919), "iat": now - 10, "exp": exp,
				"roles": roles, "note": strings.Repeat(fmt.Sprintf("%04d", i), 1+i%64),
			}
		}
		malformed := []string{"abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30", "bm90IGpzb24.e30.c2ln", "....."}
		var lastValid request
		for i := range trafficSize {
			base := [][2]string{
				{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example"},
				{":path", fmt.Sprintf("/items/%d?x=%d", i, i%7)}, {"user-agent", "wasmtest"},
				{"x-request-id", fmt.Sprintf("req-%d", i)},
			}
			r := request{headers: base}
			bearer := func(tok string) { r.headers = append(r.headers, [2]string{"authorization", "Bearer " + tok}) }
			switch i % 10 {
			case 0, 1, 2, 3, 9:
				c := claims(i, now+3600)
				r.kind, r.sub = "valid", c["sub"].(string)
				bearer(sign(c))
				lastValid = r
			case 4:
				r = lastValid
				r.kind = "valid, seen before, forged x-jwt-sub"
				r.headers = append(slices.Clone(r.headers), [2]string{"x-jwt-sub", "admin"})
			case 5:
				r.kind, r.reason = "expired", "token expired"
				bearer(sign(claims(i, now-3600)))
			case 6:
				r.kind, r.reason = "signature bit flipped", "invalid signature"
				bearer(flipSignatureBit(sign(claims(i, now+3600)), i))
			case 7:
				r.kind, r.reason = "malformed", "malformed token"
				bearer(malformed[i/10%len(malformed)])
			case 8:
				r.kind = "no token"
				if i%20 == 8 {
					r.headers = append(r.headers, [2]string{"x-jwt-sub", "admin"})
				}
			}
			if i%spikeEvery == spikeEvery/2 {
				r.headers = append(slices.Clone(r.headers), [2]string{"cookie", "session=" + strings.Repeat("c", spikeSize)})
			}
			traffic = append(traffic, r)
		}
	})
	return traffic
}

// flipSignatureBit flips one bit (chosen by n) of the decoded signature.
func flipSignatureBit(tok string, n int) string {
	parts := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		panic(err)
	}
	sig[n%len(sig)] ^= 1 << (n % 8)
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// check compares the filter's answer with the one r must get.
func (r request) check(res wasmhost.Result) error {
	if r.sub != "" {
		if res.Outcome != wasmhost.Continue {
			return fmt.Errorf("%s: %v, want Continue (local response %+v)", r.kind, res.Outcome, res.Local)
		}
		// The token and any client-sent x-jwt-sub are gone; the verified
		// subject is there, once.
		var want [][2]string
		for _, h := range r.headers {
			if h[0] != "authorization" && h[0] != "x-jwt-sub" {
				want = append(want, h)
			}
		}
		want = append(want, [2]string{"x-jwt-sub", r.sub})
		if got := sortedPairs(res.Headers); !slices.Equal(got, sortedPairs(want)) {
			return fmt.Errorf("%s: upstream headers %q, want %q", r.kind, got, sortedPairs(want))
		}
		return nil
	}
	if res.Outcome != wasmhost.Local {
		return fmt.Errorf("%s: %v, want a 401", r.kind, res.Outcome)
	}
	challenge, body := `Bearer realm="edgejwt"`, `{"error":"No token provided"}`
	if r.reason != "" {
		challenge = `Bearer realm="edgejwt", error="invalid_token", error_description="` + r.reason + `"`
		body = `{"error":"Invalid token","details":"` + r.reason + `"}`
	}
	l := res.Local
	want := sortedPairs([][2]string{{"content-type", "application/json"}, {"www-authenticate", challenge}})
	if got := sortedPairs(l.Headers); l.Status != 401 || !slices.Equal(got, want) || string(l.Body) != body {
		return fmt.Errorf("%s: %d %q %s, want 401 %q %s", r.kind, l.Status, got, l.Body, want, body)
	}
	return nil
}

func sortedPairs(pairs [][2]string) [][2]string {
	out := slices.Clone(pairs)
	slices.SortFunc(out, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	return out
}

// drive sends the traffic through h, a tick every tickEvery requests, each
// request finished before the next. Wrong answers are test errors (the
// first few reported). It stops at the first call that fails, a trap, and
// returns the number of requests answered before it and that error.
func drive(t *testing.T, h *wasmhost.Host, traffic []request) (int, error) {
	t.Helper()
	wrong := 0
	for i, r := range traffic {
		if i%tickEvery == 0 {
			if err := h.Tick(); err != nil {
				return i, err
			}
		}
		res, err := h.Request(r.headers)
		if err != nil {
			return i, err
		}
		if err := r.check(res); err != nil {
			if wrong++; wrong <= 5 {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if err := h.FinishRequest(res.ID); err != nil {
			return i + 1, err
		}
	}
	if wrong > 5 {
		t.Errorf("... %d wrong answers in all", wrong)
	}
	return len(traffic), nil
}
