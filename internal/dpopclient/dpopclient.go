// Package dpopclient is a DPoP client (RFC 9449) for the end-to-end suite,
// the demo and the benchmark: it holds a P-256 key, makes proofs, and sends
// requests with a DPoP-bound token, answering a use_dpop_nonce challenge
// once. It is written apart from package dpop (its own thumbprint, its own
// encoding), so that each checks the other.
package dpopclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client is a DPoP key and the last nonce a server gave it.
type Client struct {
	key *ecdsa.PrivateKey
	// JKT is the key's RFC 7638 thumbprint: an access token bound to the
	// key carries it as cnf.jkt.
	JKT    string
	jwk    map[string]string
	header string // the proofs' header segment
	n      atomic.Int64

	mu    sync.Mutex
	nonce string
}

// New makes a client with a fresh P-256 key.
func New() (*Client, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	raw, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	c := &Client{key: key, jwk: map[string]string{
		"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:65]),
	}}
	// RFC 7638: the required members in lexical order, no whitespace.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + c.jwk["x"] + `","y":"` + c.jwk["y"] + `"}`))
	c.JKT = b64(sum[:])
	h, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": c.jwk})
	if err != nil {
		return nil, err
	}
	c.header = b64(h)
	return c, nil
}

// Claims are a proof's claims besides those Proof sets; a nil value
// removes one.
type Claims map[string]any

// Proof returns a proof for a request to htu (query and fragment are
// dropped) with method, for accessToken (its ath), with nonce unless it is
// empty, and a new jti and the current time. extra overrides claims.
func (c *Client) Proof(method, htu, accessToken, nonce string, extra Claims) (string, error) {
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	ath := sha256.Sum256([]byte(accessToken))
	claims := map[string]any{
		"htm": method,
		"htu": htu,
		"iat": time.Now().Unix(),
		"jti": strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(c.n.Add(1), 36),
		"ath": b64(ath[:]),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := c.header + "." + b64(p)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig), nil
}

// Nonce is the last nonce a server gave the client ("" before any).
func (c *Client) Nonce() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nonce
}

// Authorize sets req's Authorization (DPoP scheme) and DPoP headers for
// token, with the client's last nonce.
func (c *Client) Authorize(req *http.Request, token string) error {
	htu := req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath()
	proof, err := c.Proof(req.Method, htu, token, c.Nonce(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", proof)
	return nil
}

// Do sends req with token: with a proof for it; when the answer is a 401
// use_dpop_nonce challenge with a DPoP-Nonce, the client keeps the nonce
// and sends the request once more with a new proof (req must have GetBody
// when it has a body). first is the answer to the first attempt when
// there was a second (nil otherwise), closed.
func (c *Client) Do(hc *http.Client, req *http.Request, token string) (resp, first *http.Response, err error) {
	if err := c.Authorize(req, token); err != nil {
		return nil, nil, err
	}
	resp, err = hc.Do(req)
	if err != nil || !c.learnNonce(resp) {
		return resp, nil, err
	}
	resp.Body.Close()
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, resp, err
		}
	}
	if err := c.Authorize(retry, token); err != nil {
		return nil, resp, err
	}
	again, err := hc.Do(retry)
	return again, resp, err
}

// learnNonce keeps the DPoP-Nonce of a use_dpop_nonce answer and says
// whether resp is one.
func (c *Client) learnNonce(resp *http.Response) bool {
	n := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != http.StatusUnauthorized || n == "" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		return false
	}
	c.mu.Lock()
	c.nonce = n
	c.mu.Unlock()
	return true
}

// SetNonce sets the nonce the next proofs carry.
func (c *Client) SetNonce(n string) {
	c.mu.Lock()
	c.nonce = n
	c.mu.Unlock()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
