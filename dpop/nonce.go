package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/edgejwt/edgejwt/internal/hostrand"
	"github.com/edgejwt/edgejwt/jwkscache"
)

// Nonces makes and checks server nonces (RFC 9449 section 9) without state
// per client: a nonce is its time of issue and an HMAC of it under a
// secret, so any holder of the secret can check it and it expires by
// itself. The secret is 32 random bytes kept in the store (shared data in
// Envoy), made by the first VM that finds none; every VM of one Envoy
// uses it, and another Envoy has its own. A Nonces belongs to one VM (one
// goroutine): Valid may reload the secret.
type Nonces struct {
	store    jwkscache.Store
	secret   []byte
	cas      uint32
	lifetime time.Duration
}

// nonceSecretKey is the store key of the secret.
const nonceSecretKey = "edgejwt.dpop.nonce_secret"

const (
	nonceTimeBytes = 8
	nonceMACBytes  = 16
	nonceLen       = 32 // base64url of 24 bytes
	// nonceClockSkew is how far a nonce's time may be ahead of this VM's
	// clock (the clocks of one host's VMs agree; this is rounding).
	nonceClockSkew = time.Second
)

// NewNonces reads the secret from store, or makes and stores one.
func NewNonces(store jwkscache.Store, lifetime time.Duration) (*Nonces, error) {
	n := &Nonces{store: store, lifetime: lifetime}
	if err := n.load(); err != nil {
		return nil, err
	}
	if n.secret != nil {
		return n, nil
	}
	secret := make([]byte, sha256.Size)
	if err := hostrand.Read(secret); err != nil {
		return nil, err
	}
	// Two VMs may both find none and both write: the last one wins, and
	// the other adopts it on the first nonce it cannot check (load): at
	// worst a client is asked once more for a nonce.
	if err := store.Set(nonceSecretKey, secret, n.cas); err != nil && err != jwkscache.ErrCASMismatch {
		return nil, err
	}
	if err := n.load(); err != nil {
		return nil, err
	}
	if n.secret == nil {
		n.secret = secret
	}
	return n, nil
}

// load adopts the stored secret, if there is a well-formed one.
func (n *Nonces) load() error {
	v, cas, found, err := n.store.Get(nonceSecretKey)
	if err != nil {
		return err
	}
	n.cas = cas
	if found && len(v) == sha256.Size {
		n.secret = v
	}
	return nil
}

// Issue returns a nonce valid from now for the lifetime.
func (n *Nonces) Issue(now time.Time) string {
	var b [nonceTimeBytes + nonceMACBytes]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.Unix()))
	n.mac(b[nonceTimeBytes:], b[:nonceTimeBytes])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (n *Nonces) mac(dst, t []byte) {
	m := hmac.New(sha256.New, n.secret)
	m.Write([]byte("edgejwt dpop nonce "))
	m.Write(t)
	var sum [sha256.Size]byte
	copy(dst, m.Sum(sum[:0]))
}

// Valid reports whether nonce is one this Envoy issued within the
// lifetime. A nonce that does not check under this VM's secret has the
// secret read again, once: another VM may have replaced it at start.
func (n *Nonces) Valid(nonce string, now time.Time) bool {
	var b [nonceTimeBytes + nonceMACBytes]byte
	if len(nonce) != nonceLen {
		return false
	}
	if k, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(nonce)); err != nil || k != len(b) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:nonceTimeBytes])), 0)
	if issued.After(now.Add(nonceClockSkew)) || now.Sub(issued) > n.lifetime {
		return false
	}
	var want [nonceMACBytes]byte
	n.mac(want[:], b[:nonceTimeBytes])
	if hmac.Equal(want[:], b[nonceTimeBytes:]) {
		return true
	}
	if old := n.cas; n.load() != nil || n.cas == old {
		return false
	}
	n.mac(want[:], b[:nonceTimeBytes])
	return hmac.Equal(want[:], b[nonceTimeBytes:])
}
