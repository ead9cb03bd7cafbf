package devservers

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Fault makes the JWKS endpoint misbehave, for tests of the filter's key
// lifecycle. The zero fields are left alone: a Fault with only Delay serves
// the real key set late.
type Fault struct {
	Delay  time.Duration // before answering
	Status int           // answer this status instead of 200
	Body   []byte        // answer this body instead of the key set
	// Stale, with Delay, answers the key set as it was when the request
	// arrived: a slow endpoint whose answer misses a key published while
	// it is on its way.
	Stale bool
}

func (f *Fault) serve(w http.ResponseWriter, r *http.Request) bool {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status == 0 && f.Body == nil {
		return false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(f.Body)
	return true
}

// SetFault makes the endpoint misbehave as f says; nil heals it.
func (iss *Issuer) SetFault(f *Fault) { iss.fault.Store(f) }

// publish makes keys the served key set.
func (iss *Issuer) publish(keys map[string]*rsa.PrivateKey) error {
	kids := make([]string, 0, len(keys))
	for kid := range keys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	jwks := make([]any, 0, len(kids))
	for _, kid := range kids {
		jwks = append(jwks, publicJWK(&keys[kid].PublicKey, kid))
	}
	b, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		return err
	}
	iss.jwks.Store(&b)
	return nil
}

// published is the current key set, signing key included unless dropped.
func (iss *Issuer) published(withSigning bool) map[string]*rsa.PrivateKey {
	keys := map[string]*rsa.PrivateKey{}
	if withSigning {
		keys[iss.kid] = iss.signing
	}
	for kid, k := range iss.rotated {
		keys[kid] = k
	}
	return keys
}

// AddKey generates a new signing key, publishes it next to the others and
// returns its kid: the first step of a key rotation.
func (iss *Issuer) AddKey() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return "", err
	}
	kid := "rotated-" + thumbprint(&k.PublicKey)[:12]
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.rotated == nil {
		iss.rotated = map[string]*rsa.PrivateKey{}
	}
	iss.rotated[kid] = k
	return kid, iss.publish(iss.published(!iss.signingDropped))
}

// DropSigningKey removes the original signing key (KID) from the key set:
// the last step of a rotation. Tokens it signed must stop verifying once the
// filter has the new set.
func (iss *Issuer) DropSigningKey() error {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.signingDropped = true
	return iss.publish(iss.published(false))
}

// MintWithKey signs claims with a key added by AddKey, under its kid.
func (iss *Issuer) MintWithKey(kid string, claims Claims) (string, error) {
	iss.mu.Lock()
	k := iss.rotated[kid]
	iss.mu.Unlock()
	if k == nil {
		return "", fmt.Errorf("issuer: no added key %q", kid)
	}
	return iss.Mint(claims, WithKID(kid), func(s *tokenSpec) { s.key = k })
}

// DiscoveryPath is where the issuer serves its OpenID provider configuration.
const DiscoveryPath = "/.well-known/openid-configuration"

// serveDiscovery answers the OpenID Connect Discovery document: the issuer
// and the JWKS URI, nothing else the filter reads.
func (iss *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss.discoveries.Add(1)
	b, err := json.Marshal(map[string]string{"issuer": iss.Name, "jwks_uri": iss.JWKSURI()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// Discoveries is how many discovery documents the issuer served.
func (iss *Issuer) Discoveries() int64 { return iss.discoveries.Load() }
