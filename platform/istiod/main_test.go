//go:build istiocheck

package istiod

import (
	"os"
	"testing"

	"istio.io/istio/pkg/log"
)

// TestMain keeps istiod's and the agent's informational logs (controllers
// syncing, images fetched) out of the test output; their warnings and
// errors stay.
func TestMain(m *testing.M) {
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.WarnLevel)
	}
	os.Exit(m.Run())
}
