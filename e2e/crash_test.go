package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// crashWasm is the test-only build of the filter (crashtest.go) in which a
// request with the x-edgejwt-test-crash header kills the Wasm VM:
// $EDGEJWT_CRASHTEST_WASM, or built from this checkout on first use.
func crashWasm(t *testing.T) string {
	t.Helper()
	return crashBuild.path(t)
}

var crashBuild = &variantBuild{env: "EDGEJWT_CRASHTEST_WASM", name: "edgejwt-crashtest.wasm", flags: []string{"-tags", "crashtest"}}

// TestVMCrashFailsClosed: when the Wasm VM dies in the middle of a request
// (a Go runtime fatal error, from the test-only crashtest build), Envoy
// answers that request and those that come while the VM is down with 503 —
// never passes them to the upstream, even with no token — and, with the
// shipped failure_policy FAIL_RELOAD, reloads the VM: the filter then
// authenticates again (fetching its keys anew) without an Envoy restart.
func TestVMCrashFailsClosed(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, stackOptions{}, func(c *envoyConfig) {
		c.Wasm = crashWasm(t)
		c.ExpectWasmErrors = true
	})
	claims := s.validClaims()
	tok := s.issuer.MustMint(claims)
	s.expectAllowed(t, s.send(t, bearer(tok)))

	crash := bearer(tok)
	crash.Set("x-edgejwt-test-crash", "1")
	a := s.send(t, crash)
	if a.status != http.StatusServiceUnavailable && a.status != http.StatusInternalServerError {
		t.Fatalf("the request that crashed the VM got %d %s, want a 5xx", a.status, a.body)
	}
	s.expectNotForwarded(t, a)

	// Until the VM is back: 5xx for everything, even requests that would
	// be refused anyway; afterwards the filter decides again.
	deadline := time.Now().Add(20 * time.Second)
	sawDown := false
	for {
		a := s.send(t, nil)
		if a.status == http.StatusUnauthorized {
			s.expectNoToken(t, a)
			break
		}
		if a.status != http.StatusServiceUnavailable && a.status != http.StatusInternalServerError {
			t.Fatalf("while the VM was down: %d %s", a.status, a.body)
		}
		s.expectNotForwarded(t, a)
		sawDown = true
		if time.Now().After(deadline) {
			t.Fatal("the VM was not reloaded within 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("VM down for at least one request after the crash: %v", sawDown)
	up := s.expectAllowed(t, s.send(t, bearer(tok)))
	expectVerifiedHeaders(t, up, claims)
	s.expectInvalid(t, s.send(t, bearer(tok[:len(tok)-4]+"AAAA")), "invalid signature")
	if !strings.Contains(s.envoy.log.String(), "proxy_on_request_headers failed") {
		t.Error("Envoy's log shows no VM failure: the crash did not happen")
	}
}
