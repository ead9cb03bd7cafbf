// Package devservers holds the two HTTP servers the end-to-end suite and the
// demo put around Envoy: Issuer, a token issuer that serves its JWKS and
// mints RS256 tokens, and Echo, an upstream that answers with what it was
// sent and remembers it. Both listen on 127.0.0.1 only.
//
// Tokens are signed here with crypto/rsa directly, so that tests can also
// build the broken ones (wrong key, odd header, bad signature) that a JWT
// library would refuse to produce.
package devservers

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// JWKSPath is where an Issuer serves its key set.
const JWKSPath = "/.well-known/jwks.json"

// rsaBits is the size of every key an Issuer generates.
const rsaBits = 2048

// Issuer is a token issuer: an HTTP server on 127.0.0.1 that serves
// GET /.well-known/jwks.json with the public half of its signing key, and
// the means to mint tokens.
//
// It owns two RSA-2048 keys made at construction: the signing key, published
// in the JWKS under KID, and an outsider key that is published nowhere. A
// token signed with the outsider key is a forgery the filter must refuse.
//
// The JWKS endpoint has three states, to test a filter that starts before its
// issuer: not listening (NewIssuer leaves it so; connections are refused),
// answering, and listening but answering 503 (SetUnavailable).
type Issuer struct {
	// Name is the issuer identifier put in the iss claim by Mint. It
	// defaults to URL.
	Name string

	addr     string // 127.0.0.1:port, fixed at construction
	kid      string
	signing  *rsa.PrivateKey
	outsider *rsa.PrivateKey
	jwks     atomic.Pointer[[]byte] // the served document

	fetches        atomic.Int64
	discoveries    atomic.Int64
	unavailable    atomic.Bool
	fault          atomic.Pointer[Fault]
	rotated        map[string]*rsa.PrivateKey // keys added by AddKey, by kid (under mu)
	signingDropped bool                       // DropSigningKey was called (under mu)

	mu  sync.Mutex
	srv *http.Server // nil while not listening
}

// NewIssuer generates the keys and fixes the address, but does not listen
// yet: call Start. port 0 picks a free port (reserved by binding it once and
// releasing it, so another process could in principle take it before Start).
func NewIssuer(port int) (*Issuer, error) {
	addr, err := resolveAddr(port)
	if err != nil {
		return nil, err
	}
	signing, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	outsider, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{
		addr:     addr,
		kid:      "signing-" + thumbprint(&signing.PublicKey)[:12],
		signing:  signing,
		outsider: outsider,
	}
	iss.Name = iss.URL()
	if err := iss.publish(map[string]*rsa.PrivateKey{iss.kid: signing}); err != nil {
		return nil, err
	}
	return iss, nil
}

// StartIssuer is NewIssuer followed by Start.
func StartIssuer(port int) (*Issuer, error) {
	iss, err := NewIssuer(port)
	if err != nil {
		return nil, err
	}
	if err := iss.Start(); err != nil {
		return nil, err
	}
	return iss, nil
}

// Start makes the JWKS endpoint listen. It does nothing when it already does.
func (iss *Issuer) Start() error {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", iss.addr)
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+JWKSPath, iss.serveJWKS)
	mux.HandleFunc("GET "+DiscoveryPath, iss.serveDiscovery)
	iss.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go iss.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Stop
	return nil
}

// Stop closes the listener and every open connection: the endpoint refuses
// connections again until the next Start.
func (iss *Issuer) Stop() {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.srv != nil {
		_ = iss.srv.Close()
		iss.srv = nil
	}
}

// Close is Stop; it exists so an Issuer can be handed to t.Cleanup or defer.
func (iss *Issuer) Close() { iss.Stop() }

// SetUnavailable makes a listening JWKS endpoint answer 503 (true) or the
// key set (false).
func (iss *Issuer) SetUnavailable(down bool) { iss.unavailable.Store(down) }

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.fetches.Add(1)
	if iss.unavailable.Load() {
		http.Error(w, "jwks unavailable", http.StatusServiceUnavailable)
		return
	}
	jwks := *iss.jwks.Load()
	f := iss.fault.Load()
	if f != nil && f.serve(w, r) {
		return
	}
	if f == nil || !f.Stale {
		jwks = *iss.jwks.Load()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(jwks)))
	_, _ = w.Write(jwks)
}

// Fetches is how many JWKS requests the endpoint has received, answered or
// not.
func (iss *Issuer) Fetches() int64 { return iss.fetches.Load() }

// Addr is 127.0.0.1:port.
func (iss *Issuer) Addr() string { return iss.addr }

// Port is the TCP port of the JWKS endpoint.
func (iss *Issuer) Port() int { return portOf(iss.addr) }

// portOf is the port of a host:port address this package made.
func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// URL is http://127.0.0.1:port, the default issuer identifier.
func (iss *Issuer) URL() string { return "http://" + iss.addr }

// JWKSURI is the URL of the key set.
func (iss *Issuer) JWKSURI() string { return iss.URL() + JWKSPath }

// JWKS is the key set document the endpoint serves.
func (iss *Issuer) JWKS() []byte { return append([]byte(nil), *iss.jwks.Load()...) }

// KID is the key ID of the signing key in the JWKS.
func (iss *Issuer) KID() string { return iss.kid }

// PublicKey is the public half of the signing key.
func (iss *Issuer) PublicKey() *rsa.PublicKey { return &iss.signing.PublicKey }

// Claims is a JWT claims set. Values are encoded with encoding/json.
type Claims map[string]any

// TokenOption changes how Mint builds one token.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	header   map[string]any
	outsider bool
	key      *rsa.PrivateKey // signs instead of the signing key (MintWithKey)
}

// WithKID sets the header's kid; "" removes it.
func WithKID(kid string) TokenOption {
	return WithHeader("kid", kid)
}

// WithAlg sets the header's alg. The token is still signed with RS256: this
// is for tokens that lie about their algorithm.
func WithAlg(alg string) TokenOption { return WithHeader("alg", alg) }

// WithHeader sets a header member; a nil value or "" removes it.
func WithHeader(name string, value any) TokenOption {
	return func(s *tokenSpec) {
		if value == nil || value == "" {
			delete(s.header, name)
			return
		}
		s.header[name] = value
	}
}

// WithOutsiderKey signs with the key that is not in the JWKS (the header
// still names the JWKS key's kid unless WithKID says otherwise).
func WithOutsiderKey() TokenOption {
	return func(s *tokenSpec) { s.outsider = true }
}

// StandardClaims returns iss (Name), sub, aud, iat and nbf now, exp in ttl.
// Add or override members on the result before Mint.
func (iss *Issuer) StandardClaims(sub string, aud any, ttl time.Duration) Claims {
	now := time.Now()
	return Claims{
		"iss": iss.Name,
		"sub": sub,
		"aud": aud,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
}

// Mint returns a compact JWS of claims signed with RS256 by the signing key
// (or the outsider key), with header {"alg":"RS256","typ":"JWT","kid":KID}
// as changed by opts.
func (iss *Issuer) Mint(claims Claims, opts ...TokenOption) (string, error) {
	spec := tokenSpec{header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": iss.kid}}
	for _, o := range opts {
		o(&spec)
	}
	input, err := SigningInput(spec.header, claims)
	if err != nil {
		return "", err
	}
	key := iss.signing
	if spec.key != nil {
		key = spec.key
	}
	if spec.outsider {
		key = iss.outsider
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// MustMint is Mint for callers whose claims cannot fail to encode.
func (iss *Issuer) MustMint(claims Claims, opts ...TokenOption) string {
	tok, err := iss.Mint(claims, opts...)
	if err != nil {
		panic(err)
	}
	return tok
}

// SigningInput is base64url(JSON(header)) '.' base64url(JSON(claims)), the
// bytes a JWS signature covers. With it a test can sign a token any way it
// likes (HMAC, nothing at all).
func SigningInput(header map[string]any, claims Claims) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return b64(h) + "." + b64(c), nil
}

// b64 is base64url without padding, the JWS encoding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// publicJWK is the RFC 7517 JSON Web Key of an RSA public key.
func publicJWK(pub *rsa.PublicKey, kid string) map[string]string {
	return map[string]string{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": kid,
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// thumbprint is the RFC 7638 JWK thumbprint of pub, base64url.
func thumbprint(pub *rsa.PublicKey) string {
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	doc := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(doc))
	return b64(sum[:])
}

// resolveAddr returns 127.0.0.1:port, choosing a free port for 0.
func resolveAddr(port int) (string, error) {
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("devservers: bad port %d", port)
	}
	if port != 0 {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}
