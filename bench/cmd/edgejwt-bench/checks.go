package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// checkTimeout bounds the wait for the first 200 to the valid token: the
// first requests may wait for the key set (jwt_authn fetches it on the first
// request; edgejwt holds requests until its first fetch).
const checkTimeout = 30 * time.Second

// check makes sure a setup answers as it must before it is measured:
//   - setups that check tokens: 200 to the valid token and 401 to a forged
//     token and to none; in the go mode (and for (d)) the 200's answer must
//     show the token's sub, which the auth filter put in a header for the
//     upstream (the claims reached the application). In the direct mode
//     Envoy answers itself and only the status codes can be checked.
//   - (a) and (n), which have no auth: 200 to all three.
//
// (p) and (p2) get their DPoP-bound tokens, each with a new proof.
func (b *bench) check(s *server, sp setupSpec, mode string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(token string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, s.url, nil)
		if err != nil {
			return 0, "", err
		}
		switch {
		case token != "" && sp.DPoP:
			if err := b.authorizeDPoP(req, token); err != nil {
				return 0, "", err
			}
		case token != "":
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(body), nil
	}
	valid, forged := b.repeatedToken, b.forgedToken
	if sp.DPoP {
		valid, forged = b.dpop.repeated, b.dpop.forged
	}
	deadline := time.Now().Add(checkTimeout)
	for {
		code, body, err := do(valid)
		if err == nil && code == http.StatusOK {
			if sp.checksTokens() && mode != modeDirect && !strings.Contains(body, repeatedSub) {
				return fmt.Errorf("valid token: 200 but the answer does not show sub %q: %.300s", repeatedSub, body)
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("valid token: got %d %v: %.300s", code, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := http.StatusUnauthorized
	if !sp.checksTokens() {
		want = http.StatusOK
	}
	for _, t := range []struct{ what, token string }{{"forged token", forged}, {"no token", ""}} {
		code, body, err := do(t.token)
		if err != nil {
			return fmt.Errorf("%s: %v", t.what, err)
		}
		if code != want {
			return fmt.Errorf("%s: got %d, want %d: %.300s", t.what, code, want, body)
		}
	}
	return nil
}
