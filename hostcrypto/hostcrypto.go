// Package hostcrypto prepares calls to Envoy's native signature check, the
// foreign function "verify_signature" that Envoy registers for Wasm plugins
// (BoringSSL, reached through proxy_call_foreign_function). It is plain Go:
// it encodes the arguments (protobuf
// envoy.source.extensions.common.wasm.VerifySignatureArguments), decodes
// the result, and encodes public keys as the DER SubjectPublicKeyInfo Envoy
// imports. Package main makes the call.
//
// Envoy's check is EVP_DigestVerify with the key's default padding: it
// fits PKCS#1 v1.5 RSA (RS256/384/512) and ECDSA (ES256/384, once the JWS
// r||s signature is turned into DER). PSS and EdDSA stay on the Go path:
// the default padding cannot check PSS, and Ed25519 takes no digest.
package hostcrypto

import (
	"crypto/rsa"
	"errors"

	"github.com/edgejwt/edgejwt/verifier"
)

// FunctionName is the foreign function's name in Envoy.
const FunctionName = "verify_signature"

// HashName is the hash_function argument for a JWS algorithm, or "" when
// the host cannot check that algorithm.
func HashName(alg string) string {
	switch alg {
	case "RS256", "ES256":
		return "sha256"
	case "RS384", "ES384":
		return "sha384"
	case "RS512":
		return "sha512"
	}
	return ""
}

// Arguments encodes VerifySignatureArguments{hash_function=1,
// public_key=2 (DER), signature=3, text=4}.
func Arguments(hash string, publicKeyDER, signature, text []byte) []byte {
	b := make([]byte, 0, 16+len(hash)+len(publicKeyDER)+len(signature)+len(text))
	b = appendBytesField(b, 1, []byte(hash))
	b = appendBytesField(b, 2, publicKeyDER)
	b = appendBytesField(b, 3, signature)
	return appendBytesField(b, 4, text)
}

// ErrMalformedResult is returned for a result that is not a
// VerifySignatureResult.
var ErrMalformedResult = errors.New("hostcrypto: malformed verify_signature result")

// Result decodes VerifySignatureResult{result=1 (bool), error=2 (string)}.
// Unknown fields are skipped, as protobuf requires.
func Result(b []byte) (ok bool, errText string, err error) {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return false, "", ErrMalformedResult
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0: // varint
			v, n := uvarint(b)
			if n <= 0 {
				return false, "", ErrMalformedResult
			}
			b = b[n:]
			if field == 1 {
				ok = v != 0
			}
		case 2: // length-delimited
			l, n := uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return false, "", ErrMalformedResult
			}
			v := b[n : n+int(l)]
			b = b[n+int(l):]
			if field == 2 {
				errText = string(v)
			}
		case 5: // fixed32
			if len(b) < 4 {
				return false, "", ErrMalformedResult
			}
			b = b[4:]
		case 1: // fixed64
			if len(b) < 8 {
				return false, "", ErrMalformedResult
			}
			b = b[8:]
		default:
			return false, "", ErrMalformedResult
		}
	}
	return ok, errText, nil
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = appendUvarint(b, uint64(field)<<3|2)
	b = appendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// Object identifiers of SubjectPublicKeyInfo (RFC 3279, RFC 5480).
var (
	oidRSAEncryption = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}
	asn1Null         = []byte{0x05, 0x00}
)

// PublicKeyDER encodes an RSA or P-256/P-384 ECDSA public key as DER
// SubjectPublicKeyInfo, written out by hand so that the filter does not
// carry crypto/x509 (a large package) for it. Other keys give nil.
func PublicKeyDER(pub any) []byte {
	if k, ok := pub.(*rsa.PublicKey); ok {
		return RSAPublicKeyDER(k.N.Bytes(), k.E)
	}
	return ecdsaPublicKeyDER(pub)
}

// RSAPublicKeyDER is PublicKeyDER for the RSA key of big-endian modulus n
// and exponent e (see verifier.RSAKey).
func RSAPublicKeyDER(n []byte, e int) []byte {
	var eb []byte
	for v := uint64(e); v > 0; v >>= 8 {
		eb = append([]byte{byte(v)}, eb...)
	}
	rsaKey := tlv(0x30, append(asn1Int(n), asn1Int(eb)...))
	alg := tlv(0x30, append(append([]byte{}, oidRSAEncryption...), asn1Null...))
	return tlv(0x30, append(alg, bitString(rsaKey)...))
}

// Signature is a JWS signature as verify_signature takes it for the key k:
// as it is for RSA, the DER SEQUENCE{r, s} for ECDSA. ok is false for an
// ECDSA signature of the wrong size for the curve, which is invalid.
func Signature(k *verifier.Key, sig []byte) (out []byte, ok bool) {
	if k.RSA != nil {
		return sig, true
	}
	return ecdsaSignature(k.Public, sig)
}

func bitString(b []byte) []byte { return tlv(0x03, append([]byte{0}, b...)) }

// asn1Int is a DER INTEGER of the non-negative big-endian b, without
// leading zeros.
func asn1Int(b []byte) []byte {
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return tlv(0x02, b)
}

func tlv(tag byte, v []byte) []byte {
	out := []byte{tag}
	switch l := len(v); {
	case l < 0x80:
		out = append(out, byte(l))
	case l < 0x100:
		out = append(out, 0x81, byte(l))
	case l < 0x10000:
		out = append(out, 0x82, byte(l>>8), byte(l))
	default:
		out = append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(out, v...)
}
