package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyadmin"
)

const (
	audience    = "e2e-api"
	jwksCluster = "jwks_issuer"
	realm       = "edgejwt" // the README's default

	// Headers the filter is configured to write.
	payloadHeader = "x-jwt-payload"
	subHeader     = "x-jwt-sub"
	rolesHeader   = "x-jwt-roles"
)

// stack is one Envoy with the filter between a client, an issuer and an
// echo upstream.
type stack struct {
	issuer *devservers.Issuer
	echo   *devservers.Echo
	envoy  *envoyProc
	client *http.Client
	proto  string // what client speaks; "" is HTTP/1.1
	// url is where send goes: another listener of the same Envoy
	// (http://127.0.0.1:port); "" is the Envoy's listener.
	url string
}

// stackOptions says how a stack differs from the default one.
type stackOptions struct {
	// rule and top are merged over the defaults of the single rule and of
	// the top-level configuration object.
	rule map[string]any
	top  map[string]any
	// concurrency is Envoy's worker count (default 1).
	concurrency int
	// jwksDown leaves the issuer's JWKS endpoint closed (connection refused)
	// when Envoy starts; the test calls issuer.Start.
	jwksDown bool
	// vmEnv is the environment of the filter's Wasm VM.
	vmEnv map[string]string
}

// defaultRule is the rule every stack starts from: the test issuer, its
// JWKS through cluster jwks_issuer, and the three output headers.
func defaultRule(iss *devservers.Issuer) map[string]any {
	return map[string]any{
		"issuer":                iss.Name,
		"audiences":             []string{audience},
		"jwksUri":               iss.JWKSURI(),
		"jwksCluster":           jwksCluster,
		"outputPayloadToHeader": payloadHeader,
		"outputClaimToHeaders": []map[string]string{
			{"header": subHeader, "claim": "sub"},
			{"header": rolesHeader, "claim": "roles"},
		},
	}
}

// pluginConfig is the filter's configuration for a stack.
func pluginConfig(iss *devservers.Issuer, o stackOptions) string {
	rule := defaultRule(iss)
	for k, v := range o.rule {
		if v == nil {
			delete(rule, k) // nil removes a default
			continue
		}
		rule[k] = v
	}
	top := map[string]any{"jwtRules": []any{rule}}
	for k, v := range o.top {
		top[k] = v
	}
	b, err := json.Marshal(top)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// newStack starts an issuer (unless jwksDown), an echo upstream and Envoy,
// and stops them all when t ends.
func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	return newStackWith(t, o, nil)
}

// newStackWith is newStack with a last say on Envoy's configuration.
func newStackWith(t *testing.T, o stackOptions, mutate func(*envoyConfig)) *stack {
	t.Helper()
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	if !o.jwksDown {
		if err := iss.Start(); err != nil {
			t.Fatal(err)
		}
	}
	echo, err := devservers.StartEcho(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(echo.Close)
	cfg := envoyConfig{
		PluginConfig: pluginConfig(iss, o),
		UpstreamPort: echo.Port(),
		JWKSClusters: []cluster{{Name: jwksCluster, Port: iss.Port()}},
		Concurrency:  o.concurrency,
		VMEnv:        o.vmEnv,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	e := startEnvoy(t, cfg)
	return &stack{
		issuer: iss,
		echo:   echo,
		envoy:  e,
		client: newClient(),
	}
}

// newClient is the HTTP/1.1 client of the tests. A new connection per
// request spreads requests over Envoy's workers.
func newClient() *http.Client { return newProtoClient(http1) }

// Downstream protocols the tests speak to Envoy's listener (its codec is
// AUTO: it takes HTTP/1.1 and HTTP/2 with prior knowledge on one port).
const (
	http1 = "h1"  // HTTP/1.1
	h2c   = "h2c" // HTTP/2 over cleartext TCP, with prior knowledge
)

var protocols = []string{http1, h2c}

// newProtoClient is a client that speaks proto to Envoy.
func newProtoClient(proto string) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if proto == h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = &p
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: tr}
}

// over is s with a client that speaks proto.
func (s *stack) over(proto string) *stack {
	c := *s
	c.client = newProtoClient(proto)
	c.proto = proto
	return &c
}

// on is s sending to another listener of its Envoy (http://127.0.0.1:port).
func (s *stack) on(url string) *stack {
	c := *s
	c.url = url
	return &c
}

// validClaims are the claims of a token the default rule accepts.
func (s *stack) validClaims() devservers.Claims {
	c := s.issuer.StandardClaims("alice", audience, time.Hour)
	c["roles"] = []string{"admin", "reader"}
	return c
}

// validToken is a token the default rule accepts.
func (s *stack) validToken(t testing.TB) string {
	t.Helper()
	tok, err := s.issuer.Mint(s.validClaims())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// answer is what the client got back for one request.
type answer struct {
	id     string // the request's x-test-id
	status int
	header http.Header
	body   []byte
}

var requestIDs atomic.Int64

// send sends GET /resource through Envoy with the given headers plus a
// fresh x-test-id.
func (s *stack) send(t testing.TB, header http.Header) answer {
	t.Helper()
	a, err := s.trySend(t.Name(), header)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// trySend is send for goroutines, which must not call t.Fatal.
func (s *stack) trySend(name string, header http.Header) (answer, error) {
	id := fmt.Sprintf("%s#%d", name, requestIDs.Add(1))
	base := s.envoy.listener
	if s.url != "" {
		base = s.url
	}
	req, err := http.NewRequest(http.MethodGet, base+"/resource?q=1", nil)
	if err != nil {
		return answer{}, err
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set(devservers.TestIDHeader, id)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("request %s: %w", id, err)
	}
	defer resp.Body.Close()
	if err := s.checkProto(resp); err != nil {
		return answer{}, err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("request %s: %w", id, err)
	}
	return answer{id: id, status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// bearer is an Authorization header carrying tok.
func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// expectAllowed checks a 200 that reached the upstream exactly once without
// the token, and returns what the upstream saw.
func (s *stack) expectAllowed(t testing.TB, a answer) devservers.Request {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s; www-authenticate %q", a.status, short(a.body), a.header.Values("Www-Authenticate"))
	}
	seen := s.echo.ByTestID(a.id)
	if len(seen) != 1 {
		t.Fatalf("upstream saw request %s %d times, want once", a.id, len(seen))
	}
	return seen[0]
}

// expectNotForwarded checks that the upstream never saw request a.
func (s *stack) expectNotForwarded(t testing.TB, a answer) {
	t.Helper()
	if seen := s.echo.ByTestID(a.id); len(seen) != 0 {
		t.Errorf("upstream saw the refused request %s (Authorization %q)", a.id, seen[0].Header.Values("Authorization"))
	}
}

// expectNoToken checks the README's answer to a request without a token.
func (s *stack) expectNoToken(t testing.TB, a answer) {
	t.Helper()
	s.expectNotForwarded(t, a)
	expectStatusBody(t, a, http.StatusUnauthorized, map[string]string{"error": "No token provided"})
	expectChallenge(t, a, `Bearer realm="`+realm+`"`)
}

// expectInvalid checks the README's answer to a refused token. The first
// reason is the expected one; more are accepted where the README leaves the
// choice open.
func (s *stack) expectInvalid(t testing.TB, a answer, reasons ...string) {
	t.Helper()
	s.expectNotForwarded(t, a)
	var got map[string]string
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatalf("status %d, body %s is not a JSON object of strings: %v", a.status, short(a.body), err)
	}
	reason := reasons[0]
	for _, r := range reasons {
		if got["details"] == r {
			reason = r
		}
	}
	if len(reasons) > 1 {
		t.Logf("details %q (any of %q accepted)", got["details"], reasons)
	}
	expectStatusBody(t, a, http.StatusUnauthorized, map[string]string{"error": "Invalid token", "details": reason})
	expectChallenge(t, a, `Bearer realm="`+realm+`", error="invalid_token", error_description="`+reason+`"`)
}

// expectUnavailable checks the README's 503 for keys that never came.
func (s *stack) expectUnavailable(t testing.TB, a answer) {
	t.Helper()
	s.expectNotForwarded(t, a)
	expectStatusBody(t, a, http.StatusServiceUnavailable,
		map[string]string{"error": "Authentication unavailable", "details": "signing keys not available"})
	if v := a.header.Values("Www-Authenticate"); len(v) != 0 {
		t.Errorf("WWW-Authenticate %q on a 503, want none", v)
	}
}

func expectStatusBody(t testing.TB, a answer, status int, body map[string]string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d (body %s)", a.status, status, short(a.body))
	}
	var got map[string]any
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Errorf("body %s is not JSON: %v", short(a.body), err)
		return
	}
	want := map[string]any{}
	for k, v := range body {
		want[k] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %s, want %s", short(a.body), mustJSON(body))
	}
}

func expectChallenge(t testing.TB, a answer, want string) {
	t.Helper()
	got := a.header.Values("Www-Authenticate")
	if len(got) != 1 || got[0] != want {
		t.Errorf("WWW-Authenticate %q, want [%q]", got, want)
	}
}

// expectVerifiedHeaders checks the claim and payload headers the upstream
// got for a token with claims and no forged values.
func expectVerifiedHeaders(t testing.TB, up devservers.Request, claims devservers.Claims) {
	t.Helper()
	if got := up.Header.Values(subHeader); !reflect.DeepEqual(got, []string{fmt.Sprint(claims["sub"])}) {
		t.Errorf("upstream %s = %q, want [%q]", subHeader, got, claims["sub"])
	}
	if roles, ok := claims["roles"].([]string); ok {
		if got := up.Header.Values(rolesHeader); !reflect.DeepEqual(got, []string{strings.Join(roles, ",")}) {
			t.Errorf("upstream %s = %q, want [%q]", rolesHeader, got, strings.Join(roles, ","))
		}
	}
	got := up.Header.Values(payloadHeader)
	if len(got) != 1 {
		t.Fatalf("upstream %s = %q, want one value", payloadHeader, got)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(got[0])
	if err != nil {
		t.Fatalf("upstream %s %q is not unpadded base64url: %v", payloadHeader, got[0], err)
	}
	var gotClaims, wantClaims any
	if err := json.Unmarshal(raw, &gotClaims); err != nil {
		t.Fatalf("upstream %s decodes to %q, not JSON: %v", payloadHeader, raw, err)
	}
	if err := json.Unmarshal(mustJSON(claims), &wantClaims); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotClaims, wantClaims) {
		t.Errorf("upstream %s decodes to %s, want %s", payloadHeader, raw, mustJSON(claims))
	}
}

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// short quotes a body for a failure message, cut to a readable length.
func short(b []byte) string {
	const limit = 160
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "..."
	}
	return strconv.Quote(string(b))
}

// statsOf reads Envoy's counters and gauges.
func statsOf(t *testing.T, s *stack) map[string]int64 {
	t.Helper()
	awaitMetricsFlush()
	stats, err := envoyadmin.Stats(&http.Client{Timeout: 5 * time.Second}, s.envoy.adminBase, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// checkProto makes sure a response came over the protocol the stack speaks.
func (s *stack) checkProto(resp *http.Response) error {
	if want := map[string]int{"": 1, http1: 1, h2c: 2}[s.proto]; resp.ProtoMajor != want {
		return fmt.Errorf("response over %s, want HTTP/%d (%s)", resp.Proto, want, s.proto)
	}
	return nil
}

// metricsFlushWait covers the filter's batching of request counters: they
// reach Envoy's stats on the next tick (every 200 ms), so a read right
// after a request waits for two ticks.
const metricsFlushWait = 450 * time.Millisecond

func awaitMetricsFlush() { time.Sleep(metricsFlushWait) }
