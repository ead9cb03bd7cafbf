package main

import (
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"

	"github.com/edgejwt/edgejwt/hostcrypto"
	"github.com/edgejwt/edgejwt/internal/hostmetrics"
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
	checked     hostmetrics.Counter
}

func newHostSignatures() *hostSignatures {
	return &hostSignatures{checked: counter("edgejwt.host_crypto_verify")}
}

func (h *hostSignatures) check(alg string, k *verifier.Key, input, sig []byte) (valid, handled bool) {
	hash := hostcrypto.HashName(alg)
	if h.unavailable || hash == "" || k.DER == nil {
		return false, false
	}
	hostSig, ok := hostcrypto.Signature(k, sig)
	if !ok {
		return false, true // an ECDSA signature of the wrong size: invalid, as in Go
	}
	ret, err := proxywasm.CallForeignFunction(hostcrypto.FunctionName, hostcrypto.Arguments(hash, k.DER, hostSig, input))
	if err != nil {
		h.unavailable = true
		proxywasm.LogWarn("hostCrypto: Envoy's " + hostcrypto.FunctionName + " is not available (" + err.Error() + "): signatures are checked in Wasm")
		return false, false
	}
	ok, _, err = hostcrypto.Result(ret)
	if err != nil {
		return false, false
	}
	h.checked.Add(1)
	return ok, true
}
