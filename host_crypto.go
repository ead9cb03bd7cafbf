package main

import (
	"crypto/ecdsa"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/edgejwt/edgejwt/hostcrypto"
	"github.com/edgejwt/edgejwt/verifier"
)

// hostSignatures is the verifier.SignatureChecker of "hostCrypto": RS256/384/
// 512 and ES256/384 signatures go to Envoy's native verify_signature
// (BoringSSL) through
// proxy_call_foreign_function. Anything the host cannot take, and every
// signature once the host turned out to lack the function, is left to the
// standard library.
type hostSignatures struct {
	unavailable bool
	checked     proxywasm.MetricCounter
}

func newHostSignatures() *hostSignatures {
	return &hostSignatures{checked: proxywasm.DefineCounterMetric("edgejwt.host_crypto_verify")}
}

func (h *hostSignatures) check(alg string, k *verifier.Key, input, sig []byte) (valid, handled bool) {
	hash := hostcrypto.HashName(alg)
	if h.unavailable || hash == "" || k.DER == nil {
		return false, false
	}
	if ec, isEC := k.Public.(*ecdsa.PublicKey); isEC {
		der, ok := hostcrypto.ECDSASignatureDER(sig, (ec.Curve.Params().BitSize+7)/8)
		if !ok {
			return false, true // the wrong size for the curve: invalid, as in Go
		}
		sig = der
	}
	ret, err := proxywasm.CallForeignFunction(hostcrypto.FunctionName, hostcrypto.Arguments(hash, k.DER, sig, input))
	if err != nil {
		h.unavailable = true
		proxywasm.LogWarnf("hostCrypto: Envoy's %s is not available (%v): signatures are checked in Wasm", hostcrypto.FunctionName, err)
		return false, false
	}
	ok, _, err := hostcrypto.Result(ret)
	if err != nil {
		return false, false
	}
	h.checked.Increment(1)
	return ok, true
}
