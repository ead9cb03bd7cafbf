package verifier

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// nonCanonical sets unused trailing bits in seg, which must have some.
func nonCanonical(t *testing.T, seg string) string {
	t.Helper()
	if len(seg)%4 == 0 {
		t.Fatalf("segment %q has no spare bits", seg)
	}
	last := strings.IndexByte(b64chars, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(b64chars[last+1])
}

func enc(s string) string { return testkeys.Encode([]byte(s)) }

func TestParseStructure(t *testing.T) {
	const (
		h   = `{"alg":"RS256","kid":"k1"}`
		p   = `{"iss":"x"}` // 11 bytes: 15 base64 chars, spare bits
		sig = "c2lnbmF0dXJl"
	)
	good := enc(h) + "." + enc(p) + "." + sig
	if _, err := Parse(good, 0); err != nil {
		t.Fatalf("baseline token rejected: %v", err)
	}
	big := strings.Repeat("A", DefaultMaxSize+1)

	tests := []struct {
		name    string
		raw     string
		maxSize int
		want    error
	}{
		{name: "baseline", raw: good},
		{name: "too large for maxSize", raw: good, maxSize: len(good) - 1, want: ErrTokenTooLarge},
		{name: "exactly maxSize", raw: good, maxSize: len(good)},
		{name: "too large for default", raw: big, want: ErrTokenTooLarge},
		{name: "too large checked before splitting", raw: big + "..", maxSize: -1, want: ErrTokenTooLarge},
		{name: "empty", raw: "", want: ErrMalformed},
		{name: "one segment", raw: enc(h), want: ErrMalformed},
		{name: "two segments", raw: enc(h) + "." + enc(p), want: ErrMalformed},
		{name: "four segments", raw: good + ".c2ln", want: ErrMalformed},
		{name: "five segments JWE", raw: enc(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d", want: ErrMalformed},
		{name: "only dots", raw: "..", want: ErrMalformed},
		{name: "empty header", raw: "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "empty payload", raw: enc(h) + ".." + sig, want: ErrMalformed},
		{name: "empty signature", raw: enc(h) + "." + enc(p) + ".", want: ErrMalformed},
		{name: "padding on payload", raw: enc(h) + "." + enc(p) + "=." + sig, want: ErrMalformed},
		{name: "std padding on signature", raw: enc(h) + "." + enc(p) + "." + base64.URLEncoding.EncodeToString([]byte("sig")) + "=", want: ErrMalformed},
		{name: "plus in header", raw: strings.Replace(good, "e", "+", 1), want: ErrMalformed},
		{name: "slash in signature", raw: enc(h) + "." + enc(p) + ".c2ln/mF0", want: ErrMalformed},
		{name: "std alphabet", raw: base64.RawStdEncoding.EncodeToString([]byte(`{"alg":"RS256","x":"??>"}`)) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "CRLF inside header", raw: enc(h)[:8] + "\r\n" + enc(h)[8:] + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "LF inside payload", raw: enc(h) + "." + enc(p)[:4] + "\n" + enc(p)[4:] + "." + sig, want: ErrMalformed},
		{name: "CR inside signature", raw: enc(h) + "." + enc(p) + ".c2ln\rbmF0dXJl", want: ErrMalformed},
		{name: "trailing newline", raw: good + "\n", want: ErrMalformed},
		{name: "space inside", raw: enc(h) + "." + enc(p) + ". " + sig, want: ErrMalformed},
		{name: "tab inside", raw: enc(h) + "\t." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "NUL inside", raw: enc(h) + "." + enc(p) + "." + sig + "\x00", want: ErrMalformed},
		{name: "non-ASCII inside", raw: enc(h) + "." + enc(p) + "." + sig + "é", want: ErrMalformed},
		{name: "non-canonical trailing bits payload", raw: enc(h) + "." + nonCanonical(t, enc(p)) + "." + sig, want: ErrMalformed},
		{name: "non-canonical trailing bits signature", raw: enc(h) + "." + enc(p) + "." + nonCanonical(t, "c2lnbmF0dXJlcw"), want: ErrMalformed},
		{name: "impossible length", raw: enc(h) + "." + enc(p) + ".c2lnb", want: ErrMalformed},
		{name: "header not JSON", raw: enc("alg") + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "header array", raw: enc(`[{"alg":"RS256"}]`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "header string", raw: enc(`"RS256"`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "header null", raw: enc(`null`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "header BOM", raw: enc("\uFEFF"+h) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "payload BOM", raw: enc(h) + "." + enc("\uFEFF"+p) + "." + sig, want: ErrMalformed},
		{name: "header trailing garbage", raw: enc(h+"x") + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "payload trailing garbage", raw: enc(h) + "." + enc(p+"{}") + "." + sig, want: ErrMalformed},
		{name: "payload trailing NUL", raw: enc(h) + "." + enc(p+"\x00") + "." + sig, want: ErrMalformed},
		{name: "payload leading garbage", raw: enc(h) + "." + enc(","+p) + "." + sig, want: ErrMalformed},
		{name: "JSON whitespace around objects", raw: enc(" \t\r\n"+h+"\n") + "." + enc("\n"+p+" ") + "." + sig},
		{name: "non-JSON whitespace", raw: enc("\u00a0"+h) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "invalid UTF-8 in header", raw: enc(`{"alg":"RS256","x":"`+"\xff"+`"}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "invalid UTF-8 in payload", raw: enc(h) + "." + enc(`{"iss":"x`+"\xc3\x28"+`"}`) + "." + sig, want: ErrMalformed},
		{name: "overlong UTF-8", raw: enc(h) + "." + enc(`{"iss":"`+"\xc0\xaf"+`"}`) + "." + sig, want: ErrMalformed},
		{name: "control char in string", raw: enc(h) + "." + enc("{\"iss\":\"a\x01\"}") + "." + sig, want: ErrMalformed},
		{name: "payload array", raw: enc(h) + "." + enc(`[1]`) + "." + sig, want: ErrMalformed},
		{name: "payload number", raw: enc(h) + "." + enc(`1`) + "." + sig, want: ErrMalformed},
		{name: "payload null", raw: enc(h) + "." + enc(`null`) + "." + sig, want: ErrMalformed},
		{name: "payload unterminated", raw: enc(h) + "." + enc(`{"iss":"x"`) + "." + sig, want: ErrMalformed},
		{name: "payload leading zero", raw: enc(h) + "." + enc(`{"exp":01}`) + "." + sig, want: ErrMalformed},
		{name: "duplicate alg", raw: enc(`{"alg":"none","alg":"RS256"}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "duplicate alg via escape", raw: enc(`{"alg":"RS256","a\u006cg":"none"}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "duplicate unknown header member", raw: enc(`{"alg":"RS256","x":1,"x":1}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "duplicate exp", raw: enc(h) + "." + enc(`{"exp":1,"iss":"x","exp":9999999999}`) + "." + sig, want: ErrMalformed},
		{name: "duplicate private claim", raw: enc(h) + "." + enc(`{"role":"user","role":"admin"}`) + "." + sig, want: ErrMalformed},
		{name: "duplicate after many members", raw: enc(h) + "." + enc(manyMembers(40)+`,"m3":0}`) + "." + sig, want: ErrMalformed},
		{name: "many distinct members", raw: enc(h) + "." + enc(manyMembers(400)+"}") + "." + sig, maxSize: 1 << 16},
		{name: "nested duplicates not checked", raw: enc(h) + "." + enc(`{"iss":"x","o":{"a":1,"a":2}}`) + "." + sig},
		{name: "nesting at the limit", raw: enc(h) + "." + enc(`{"a":`+strings.Repeat("[", 63)+strings.Repeat("]", 63)+`}`) + "." + sig},
		{name: "nesting past the limit", raw: enc(h) + "." + enc(`{"a":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)+`}`) + "." + sig, want: ErrMalformed},
		{name: "objects nested past the limit", raw: enc(h) + "." + enc(strings.Repeat(`{"a":`, 65)+"1"+strings.Repeat("}", 65)) + "." + sig, want: ErrMalformed},
		{name: "header nested past the limit", raw: enc(`{"alg":"RS256","x":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "unbalanced deep nesting", raw: enc(h) + "." + enc(`{"a":`+strings.Repeat("[", 3000)) + "." + sig, want: ErrMalformed},
		{name: "brackets inside strings", raw: enc(h) + "." + enc(`{"a":"`+strings.Repeat("[{", 100)+`","b":"\\\"`+strings.Repeat("[", 100)+`"}`) + "." + sig},
		{name: "case-sensitive names", raw: enc(`{"ALG":"RS256"}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "ALG and alg are distinct", raw: enc(`{"ALG":"none","alg":"RS256"}`) + "." + enc(p) + "." + sig},
		{name: "no alg", raw: enc(`{"kid":"k1"}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "alg number", raw: enc(`{"alg":256}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "alg null", raw: enc(`{"alg":null}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "alg array", raw: enc(`{"alg":["RS256"]}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "kid number", raw: enc(`{"alg":"RS256","kid":1}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "kid null", raw: enc(`{"alg":"RS256","kid":null}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "crit", raw: enc(`{"alg":"RS256","crit":["exp"],"exp":1}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "empty crit", raw: enc(`{"alg":"RS256","crit":[]}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "b64 false", raw: enc(`{"alg":"RS256","b64":false,"crit":["b64"]}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "b64 true without crit", raw: enc(`{"alg":"RS256","b64":true}`) + "." + enc(p) + "." + sig, want: ErrMalformed},
		{name: "jwk x5c jku x5u ignored", raw: enc(`{"alg":"RS256","jwk":{},"x5c":["!"],"jku":"http://x","x5u":1}`) + "." + enc(p) + "." + sig},
		{name: "typ not checked", raw: enc(`{"alg":"RS256","typ":42}`) + "." + enc(p) + "." + sig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(tc.raw, tc.maxSize)
			checkErr(t, err, tc.want, tc.raw)
			if tc.want != nil && tok != nil {
				t.Fatal("token returned with an error")
			}
			if tc.want == nil && tok == nil {
				t.Fatal("nil token without error")
			}
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	b.WriteString(`{"iss":"x"`)
	for i := range n {
		b.WriteString(`,"m`)
		b.WriteString(strings.Repeat("z", i/10))
		b.WriteByte(byte('0' + i%10))
		b.WriteString(`":0`)
	}
	return b.String()
}

func TestParseAccessors(t *testing.T) {
	payload := `{"iss":"https:\/\/issuer.example","sub":"a\u00e9"}`
	raw := unsigned(`{"alg":"ES256","kid":"key-\u0031"}`, payload, "c2ln")
	tok, err := Parse(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Alg(); got != "ES256" {
		t.Errorf("Alg = %q", got)
	}
	if got := tok.KeyID(); got != "key-1" {
		t.Errorf("KeyID = %q", got)
	}
	if got := tok.UnverifiedIssuer(); got != testIssuer {
		t.Errorf("UnverifiedIssuer = %q", got)
	}
	if got := string(tok.Payload()); got != payload {
		t.Errorf("Payload = %q", got)
	}
	if got := tok.RawPayloadSegment(); got != enc(payload) {
		t.Errorf("RawPayloadSegment = %q", got)
	}

	noKid, err := Parse(unsigned(`{"alg":"RS256"}`, `{"iss":7}`, "c2ln"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if noKid.KeyID() != "" || noKid.UnverifiedIssuer() != "" {
		t.Errorf("KeyID = %q, UnverifiedIssuer = %q; want both empty", noKid.KeyID(), noKid.UnverifiedIssuer())
	}
}

func TestParseErrorsAreWrappedSentinels(t *testing.T) {
	_, err := Parse("a.b", 0)
	if !errors.Is(err, ErrMalformed) || err == ErrMalformed {
		t.Fatalf("want a wrapped ErrMalformed with detail, got %v", err)
	}
}

// TestParseBoundedWork: the size is checked before anything else, and a
// refused token costs no allocation, however many dots or bytes it has.
func TestParseBoundedWork(t *testing.T) {
	dots := strings.Repeat("a.", DefaultMaxSize/2)
	for name, raw := range map[string]string{
		"too large":            strings.Repeat("A", 1<<20),
		"too large, all dots":  strings.Repeat(".", 1<<20),
		"maximal, all dots":    dots[:DefaultMaxSize],
		"four segments":        "a.b.c.d",
		"bad alphabet at end":  strings.Repeat("A", 4000) + "." + strings.Repeat("A", 4000) + ".A=",
		"empty middle segment": "abc..def",
	} {
		if n := testing.AllocsPerRun(20, func() { _, _ = Parse(raw, 0) }); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
	tok := testkeys.Get().Token("EdDSA", hdr("EdDSA"), validPayload)
	if n := testing.AllocsPerRun(20, func() { _, _ = Parse(tok, 0) }); n > 3 {
		t.Errorf("a valid token: %v allocations, want at most 3", n)
	}
}

// FuzzDecodeSegment: the filter's base64url decoder against the standard
// library's strict unpadded decoder, on the alphabet isBase64URL admits:
// both accept the same texts and decode them alike.
func FuzzDecodeSegment(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "eyJhbGciOiJSUzI1NiJ9", "_-_-", "c2ln", "c2lnbg", "c2lnbh"} {
		f.Add(s)
	}
	std := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		if !isBase64URL(s) || strings.Contains(s, ".") {
			return
		}
		want, stdErr := std.DecodeString(s)
		n := decodedLen(len(s))
		if n < 0 {
			if stdErr == nil {
				t.Fatalf("%q: refused for its length, std decodes %x", s, want)
			}
			return
		}
		got := make([]byte, n)
		ok := decodeSegment(got, s)
		if ok != (stdErr == nil) {
			t.Fatalf("%q: ok %v, std error %v", s, ok, stdErr)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("%q: %x, std %x", s, got, want)
		}
	})
}
