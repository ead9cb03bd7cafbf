// Package testkeys generates test signing keys once per test binary and
// signs arbitrary header and payload JSON with every JWS algorithm the
// verifier supports. It is for tests only.
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"sync"
)

// Algorithms lists every algorithm the verifier supports.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}

// Keys holds one private key per key type.
type Keys struct {
	RSA     *rsa.PrivateKey // 2048 bits
	RSA1024 *rsa.PrivateKey // too small; for refusal tests
	P256    *ecdsa.PrivateKey
	P384    *ecdsa.PrivateKey
	Ed25519 ed25519.PrivateKey
}

var (
	once sync.Once
	keys *Keys
)

// Get returns the keys, generating them on first use.
func Get() *Keys {
	once.Do(func() {
		k := &Keys{}
		var err error
		if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.RSA1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
		if k.P256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if k.P384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
		if _, k.Ed25519, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		keys = k
	})
	return keys
}

// Private returns the default private key for alg.
func (k *Keys) Private(alg string) crypto.Signer {
	switch alg {
	case "ES256":
		return k.P256
	case "ES384":
		return k.P384
	case "EdDSA":
		return k.Ed25519
	default:
		return k.RSA
	}
}

// Public returns the default public key for alg.
func (k *Keys) Public(alg string) crypto.PublicKey { return k.Private(alg).Public() }

// Encode is unpadded base64url.
func Encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Token signs header and payload JSON with the default key for alg.
func (k *Keys) Token(alg, header, payload string) string {
	return SignToken(k.Private(alg), alg, header, payload)
}

// SignToken returns header.payload.signature, signing with priv as alg says.
// It panics on error: the inputs are always test fixtures.
func SignToken(priv crypto.Signer, alg, header, payload string) string {
	input := Encode([]byte(header)) + "." + Encode([]byte(payload))
	sig, err := Sign(priv, alg, []byte(input))
	if err != nil {
		panic(fmt.Sprintf("testkeys: sign %s: %v", alg, err))
	}
	return input + "." + Encode(sig)
}

// Sign signs input as alg with priv. ECDSA signatures are raw r||s, as
// JWS requires.
func Sign(priv crypto.Signer, alg string, input []byte) ([]byte, error) {
	switch alg {
	case "RS256", "RS384", "RS512":
		h := hashFor(alg)
		return rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), h, digest(h, input))
	case "PS256", "PS384", "PS512":
		return SignPSS(priv.(*rsa.PrivateKey), hashFor(alg), input, rsa.PSSSaltLengthEqualsHash), nil
	case "ES256", "ES384":
		key := priv.(*ecdsa.PrivateKey)
		h := hashFor(alg)
		r, s, err := ecdsa.Sign(rand.Reader, key, digest(h, input))
		if err != nil {
			return nil, err
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case "EdDSA":
		return ed25519.Sign(priv.(ed25519.PrivateKey), input), nil
	}
	return nil, fmt.Errorf("unsupported alg %q", alg)
}

// SignPSS signs with RSASSA-PSS and an explicit salt length.
func SignPSS(priv *rsa.PrivateKey, h crypto.Hash, input []byte, saltLen int) []byte {
	return must(rsa.SignPSS(rand.Reader, priv, h, digest(h, input), &rsa.PSSOptions{SaltLength: saltLen}))
}

// SignDER signs with ECDSA and returns the ASN.1 DER signature, which JWS
// does not allow.
func SignDER(priv *ecdsa.PrivateKey, alg string, input []byte) []byte {
	return must(ecdsa.SignASN1(rand.Reader, priv, digest(hashFor(alg), input)))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic("testkeys: " + err.Error())
	}
	return b
}

func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(input)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(input)
		return d[:]
	}
	d := sha256.Sum256(input)
	return d[:]
}
