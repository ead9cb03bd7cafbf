package e2e

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// shippedHCMFields are the connection-manager settings of envoy.yaml that
// decide which paths and header names reach the filter.
var shippedHCMFields = []string{"normalize_path", "merge_slashes", "path_with_escaped_slashes_action", "common_http_protocol_options"}

var (
	shippedOnce   sync.Once
	shippedFields map[string]any
	shippedErr    error
)

// shippedHCM returns those settings as they are in the repository's
// envoy.yaml, as connection-manager fields, so that the tests run exactly
// what users copy.
func shippedHCM(t *testing.T) map[string]any {
	t.Helper()
	shippedOnce.Do(func() {
		var b []byte
		if b, shippedErr = os.ReadFile(filepath.Join("..", "envoy.yaml")); shippedErr != nil {
			return
		}
		var doc map[string]any
		if shippedErr = yaml.Unmarshal(b, &doc); shippedErr != nil {
			return
		}
		hcm, ok := dig(doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config").(map[string]any)
		if !ok {
			shippedErr = errNoHCM
			return
		}
		picked := map[string]any{}
		for _, k := range shippedHCMFields {
			v, ok := hcm[k]
			if !ok {
				shippedErr = &missingField{k}
				return
			}
			picked[k] = v
		}
		shippedFields = picked
	})
	if shippedErr != nil {
		t.Fatalf("envoy.yaml: %v", shippedErr)
	}
	return shippedFields
}

type missingField struct{ name string }

func (e *missingField) Error() string { return "the HTTP connection manager has no " + e.name }

var errNoHCM = &missingField{"typed_config (no HTTP connection manager where expected)"}

// dig walks maps by key and slices by index.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}
