package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestGCPressure runs the filter with GOGC=1 (passed to the Wasm VM through
// vm_config.environment_variables), so that the Go runtime inside the VM
// collects garbage at nearly every allocation, and checks that every host
// call of the ABI binding (hostabi/) still reads and writes the right bytes.
// Every request carries distinct claims, so a corrupted read shows up as a
// wrong header at the upstream or a refusal.
//
// Note: with Envoy 1.40 each host call allocates at most once and the binding
// claims the buffer before Go allocates again, so a binding that forgot to
// keep host-filled buffers referenced was not caught by this test (tried);
// hostabi keeps them referenced regardless, as the GC cannot see them.
func TestGCPressure(t *testing.T) {
	s := newStack(t, stackOptions{vmEnv: map[string]string{"GOGC": "1"}})
	for i := range 150 {
		c := s.validClaims()
		c["sub"] = fmt.Sprintf("user-%d-%s", i, time.Now().Format("150405.000000"))
		c["roles"] = []string{fmt.Sprintf("role-%d", i), "reader"}
		tok, err := s.issuer.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		up := s.expectAllowed(t, s.send(t, bearer(tok)))
		expectVerifiedHeaders(t, up, c)
		if t.Failed() {
			t.Fatalf("request %d corrupted", i)
		}
		if i%10 == 0 {
			s.expectInvalid(t, s.send(t, bearer(tok[:len(tok)-4]+"AAAA")), "invalid signature")
			s.expectNoToken(t, s.send(t, nil))
		}
	}
}
