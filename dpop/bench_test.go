package dpop

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/verifier"
)

// BenchmarkCheck is one request's proof check with an ES256 proof: Parse
// (the jwk's point checked, its thumbprint), the signature, the claims,
// and the replay cache (in memory here; shared data in Envoy). The proofs
// are made beforehand, one per iteration.
func BenchmarkCheck(b *testing.B) {
	k := testkeys.Get()
	rc, err := NewReplayCache(NewMemoryStore(), "bench", 1<<20, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	c := newTestChecker(b, Options{Replay: rc, MaxAge: time.Hour})
	proofs := make([]string, b.N)
	for i := range proofs {
		proofs[i] = proofFor(k.P256, "ES256", header("ES256", k.P256), strings.Replace(claims(""), `"jti-1"`, `"j`+strconv.Itoa(i)+`"`, 1))
	}
	jkt := thumbprintOf(b, k.P256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := testRequest()
		r.Proof, r.JKT = proofs[i], jkt
		if err := c.Check(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is Parse alone: structure, jwk (point on the curve),
// thumbprint; no signature.
func BenchmarkParse(b *testing.B) {
	k := testkeys.Get()
	p := proofFor(k.P256, "ES256", header("ES256", k.P256), claims(""))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignature is the ES256 signature check alone.
func BenchmarkSignature(b *testing.B) {
	k := testkeys.Get()
	p, err := Parse(proofFor(k.P256, "ES256", header("ES256", k.P256), claims("")))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := verifier.CheckSignature("ES256", p.key, p.input, p.sig, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayCheck is one insertion into a replay cache in memory.
func BenchmarkReplayCheck(b *testing.B) {
	rc, err := NewReplayCache(NewMemoryStore(), "bench", 65536, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rc.Check("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", strconv.Itoa(i), testNow.Unix(), testNow); err != nil {
			b.Fatal(err)
		}
	}
}
