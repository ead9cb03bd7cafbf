package devservers

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// verifyWithJWKS checks tok's RS256 signature against the key set iss serves.
func verifyWithJWKS(t *testing.T, iss *Issuer, tok string) error {
	t.Helper()
	resp, err := http.Get(iss.JWKSURI())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Kid != iss.KID() {
		t.Fatalf("JWKS keys %+v, want one with kid %q", set.Keys, iss.KID())
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	parts := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

func TestIssuer(t *testing.T) {
	iss, err := NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if _, err := http.Get(iss.JWKSURI()); err == nil {
		t.Fatal("JWKS answered before Start")
	}
	if err := iss.Start(); err != nil {
		t.Fatal(err)
	}

	claims := iss.StandardClaims("alice", "api", time.Hour)
	tok := iss.MustMint(claims)
	if err := verifyWithJWKS(t, iss, tok); err != nil {
		t.Errorf("token does not verify with the JWKS: %v", err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if want := `{"alg":"RS256","kid":"` + iss.KID() + `","typ":"JWT"}`; string(header) != want {
		t.Errorf("header %s, want %s", header, want)
	}
	if err := verifyWithJWKS(t, iss, iss.MustMint(claims, WithOutsiderKey())); err == nil {
		t.Error("a token signed with the outsider key verifies with the JWKS")
	}
	header, _ = base64.RawURLEncoding.DecodeString(strings.Split(iss.MustMint(claims, WithKID(""), WithAlg("none")), ".")[0])
	if want := `{"alg":"none","typ":"JWT"}`; string(header) != want {
		t.Errorf("header %s, want %s", header, want)
	}

	iss.SetUnavailable(true)
	resp, err := http.Get(iss.JWKSURI())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d while unavailable, want 503", resp.StatusCode)
	}
	iss.SetUnavailable(false)
	iss.Stop()
	if _, err := http.Get(iss.JWKSURI()); err == nil {
		t.Error("JWKS answered after Stop")
	}
	if err := iss.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := iss.Fetches(); got != 3 {
		t.Errorf("Fetches() = %d, want 3", got)
	}
}

func TestEcho(t *testing.T) {
	e, err := StartEcho(0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req, _ := http.NewRequest(http.MethodPost, e.URL()+"/a/b?c=d", strings.NewReader("x"))
	req.Header.Set(TestIDHeader, "t1")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got Request
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.Method != "POST" || got.Path != "/a/b?c=d" || len(got.Header.Values("X-Multi")) != 2 {
		t.Errorf("echoed %+v", got)
	}
	if n := len(e.ByTestID("t1")); n != 1 {
		t.Errorf("ByTestID(t1) found %d requests, want 1", n)
	}
	if n := len(e.ByTestID("t2")); n != 0 {
		t.Errorf("ByTestID(t2) found %d requests, want 0", n)
	}
}
