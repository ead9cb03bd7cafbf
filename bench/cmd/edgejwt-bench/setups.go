package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

// Setup kinds.
const (
	kindNoAuth   = "noauth"
	kindJwtAuthn = "jwtauthn"
	kindNoop     = "noop" // the no-op Go Wasm filter
	kindEdgejwt  = "edgejwt"
	kindNode     = "node"
)

// Modules of the Wasm setups.
const (
	moduleDefault = "default" // build/edgejwt.wasm
	moduleRSA     = "rsa"     // build/edgejwt-rsa.wasm
	moduleNoop    = "noop"    // build/noop.wasm
)

const (
	// jwksCluster is the cluster through which the JWKS is fetched from the
	// issuer (by jwt_authn and edgejwt; defined in every Envoy setup).
	jwksCluster = "jwks_issuer"
	// upstreamCluster is the Go upstream's, in the go mode.
	upstreamCluster = "upstream"
	// benchPath is the path every request asks for.
	benchPath = "/protected"
	// Headers the verified claims are written to, in (b) and (c) alike.
	payloadHeader = "x-jwt-payload"
	subHeader     = "x-jwt-sub"
	rolesHeader   = "x-jwt-roles"
	// directBody is the direct mode's answer, about the size of the Go
	// upstream's.
	directBody = `{"message":"Access granted","sub":"direct"}` + "\n"
)

// setupSpec is one server configuration to measure.
type setupSpec struct {
	ID           string `json:"id"` // a, b, b2, n, c, c2, p, p2, r, z0, z, d or a variant's name
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Module       string `json:"module,omitempty"`        // Wasm setups: default, rsa or noop
	FilterConfig string `json:"filter_config,omitempty"` // edgejwt's JSON configuration
	// JwtCache turns jwt_authn's verified-token cache on (jwt_cache_config
	// with jwt_cache_size 100). Envoy leaves it off unless the field is set.
	JwtCache bool `json:"jwt_cache,omitempty"`
	// Variant is the JSON a -variant merged into (c)'s base configuration.
	Variant string `json:"variant,omitempty"`
	// topExtra is merged into the top level of the configuration after
	// -filter-config-extra ((c2)'s hostCrypto).
	topExtra map[string]any
	// takesExtra: -filter-config-extra applies ((c), (c2), (r)).
	takesExtra bool
	// DPoP: requests carry DPoP-bound tokens with a fresh ES256 proof each
	// ((p), (p2)); ruleExtra is merged into the rule (its dpop object).
	DPoP      bool `json:"dpop,omitempty"`
	ruleExtra map[string]any
	// KeepFreeMemory leaves out envoy.yaml's memory_allocator_manager,
	// which every other setup has (footprint setup c-keep).
	KeepFreeMemory bool `json:"keep_free_memory,omitempty"`
}

// defaultSetups is -setups' default: every setup.
const defaultSetups = "a,b,b2,n,c,c2,p,p2,r,z0,z,d"

// benchRule is the request rule of (z0) and (z): every path, a token
// required. (z) adds three claim conditions that the benchmark's tokens
// meet (a role in an array, a string equality, a string prefix), so that
// (z) against (z0) is the cost of conditions on the request path.
func benchRule(conditions bool) map[string]any {
	r := map[string]any{"match": map[string]any{"prefix": "/"}, "requirement": "required"}
	if conditions {
		r["claims"] = []any{
			map[string]any{"claim": "roles", "anyOf": []string{"reader"}},
			map[string]any{"claim": "aud", "equals": audience},
			map[string]any{"claim": "iss", "string": map[string]any{"prefix": "http://"}},
		}
	}
	return map[string]any{"rules": []any{r}}
}

// builtinSpecs are the setups -setups chooses from.
var builtinSpecs = map[string]setupSpec{
	"a":  {ID: "a", Name: "Envoy, no auth filter", Kind: kindNoAuth},
	"b":  {ID: "b", Name: "Envoy + jwt_authn (default: no token cache)", Kind: kindJwtAuthn},
	"b2": {ID: "b2", Name: "Envoy + jwt_authn, jwt_cache_config 100", Kind: kindJwtAuthn, JwtCache: true},
	"n":  {ID: "n", Name: "Envoy + no-op Go Wasm filter", Kind: kindNoop, Module: moduleNoop},
	"c":  {ID: "c", Name: "Envoy + edgejwt", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true},
	"c2": {ID: "c2", Name: "Envoy + edgejwt, hostCrypto", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true,
		topExtra: map[string]any{"hostCrypto": true}},
	// (p) and (p2) are (c) and (c2) with DPoP required: the same token
	// checks, plus an ES256 proof checked on every request.
	"p": {ID: "p", Name: "Envoy + edgejwt, DPoP (ES256 proofs)", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true,
		DPoP: true, ruleExtra: dpopRule()},
	"p2": {ID: "p2", Name: "Envoy + edgejwt, DPoP (ES256 proofs), hostCrypto", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true,
		DPoP: true, ruleExtra: dpopRule(), topExtra: map[string]any{"hostCrypto": true}},
	"r": {ID: "r", Name: "Envoy + edgejwt RSA-only build", Kind: kindEdgejwt, Module: moduleRSA, takesExtra: true},
	// z0 is (c) with one request rule (every path, a token required); z is
	// z0's rule with three claim conditions: z against z0 is what
	// conditions cost.
	"z0": {ID: "z0", Name: "Envoy + edgejwt, one rule", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true,
		topExtra: benchRule(false)},
	"z": {ID: "z", Name: "Envoy + edgejwt, rule + 3 conditions", Kind: kindEdgejwt, Module: moduleDefault, takesExtra: true,
		topExtra: benchRule(true)},
	// c-keep is (c) without envoy.yaml's memory_allocator_manager: what
	// that setting is worth (footprint phase only).
	"c-keep": {ID: "c-keep", Name: "Envoy + edgejwt, no memory_allocator_manager", Kind: kindEdgejwt, Module: moduleDefault,
		takesExtra: true, KeepFreeMemory: true},
	"d": {ID: "d", Name: "Node: Koa + jsonwebtoken + jwks-rsa", Kind: kindNode},
}

// dpopRule is the dpop object of (p) and (p2): required, ES256 proofs, the
// default time window, replay cache and no nonce.
func dpopRule() map[string]any {
	return map[string]any{"dpop": map[string]any{"mode": "required", "algorithms": []any{"ES256"}}}
}

// isEnvoy reports whether the setup is an Envoy (every kind but Node).
func (sp setupSpec) isEnvoy() bool { return sp.Kind != kindNode }

// isWasm reports whether the setup runs a Wasm module.
func (sp setupSpec) isWasm() bool { return sp.Kind == kindEdgejwt || sp.Kind == kindNoop }

// checksTokens reports whether the setup refuses bad tokens: all but (a) and
// (n), which answer 200 to anything.
func (sp setupSpec) checksTokens() bool { return sp.Kind != kindNoAuth && sp.Kind != kindNoop }

// specs is the list of setups to run: the chosen ones, then the variants.
func (b *bench) specs(list, extra string, variants []string) ([]setupSpec, error) {
	var specs []setupSpec
	seen := map[string]bool{}
	for _, id := range splitList(list) {
		sp, ok := builtinSpecs[id]
		if !ok {
			return nil, fmt.Errorf("-setups: unknown setup %q (a, b, b2, n, c, c2, p, p2, r, z0, z, d)", id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if sp.takesExtra && extra != "" {
			sp.Name += " " + extra
		}
		specs = append(specs, sp)
	}
	for _, v := range variants {
		name, js, ok := strings.Cut(v, "=")
		name = strings.TrimSpace(name)
		if _, builtin := builtinSpecs[name]; !ok || name == "" || seen[name] || builtin || strings.ContainsAny(name, " /,") {
			return nil, fmt.Errorf("-variant %q: want NAME=JSON with a new NAME (not one of a, b, b2, n, c, c2, p, p2, r, z0, z, d)", v)
		}
		seen[name] = true
		specs = append(specs, setupSpec{ID: name, Name: "Envoy + edgejwt " + js, Kind: kindEdgejwt, Module: moduleDefault, Variant: js})
	}
	if len(specs) == 0 {
		return nil, errors.New("no setup to run")
	}
	return specs, nil
}

// footprintSpecs are the setups of the footprint phase.
func (b *bench) footprintSpecs(extra string) []setupSpec {
	var out []setupSpec
	for _, id := range b.fpSetups {
		sp := builtinSpecs[id]
		if sp.takesExtra && extra != "" {
			sp.Name += " " + extra
		}
		out = append(out, sp)
	}
	return out
}

// applyExtras sets the edgejwt setups' configurations: (c)'s base
// configuration with -filter-config-extra merged in for (c), (c2) and (r)
// (then (c2)'s hostCrypto), and each variant's JSON for the variants.
func (b *bench) applyExtras(specs []setupSpec, extra string, variants []string) error {
	build := func(js string, rule2, top2 map[string]any) (string, error) {
		rule := map[string]any{}
		if strings.TrimSpace(js) != "" {
			if err := json.Unmarshal([]byte(js), &rule); err != nil {
				return "", fmt.Errorf("%q is not a JSON object: %v", js, err)
			}
		}
		top := map[string]any{}
		if t, ok := rule["_top"]; ok {
			m, ok := t.(map[string]any)
			if !ok {
				return "", fmt.Errorf("%q: _top must be an object", js)
			}
			top = m
			delete(rule, "_top")
		}
		merge(top, top2)
		merge(rule, rule2)
		return filterConfig(b.issuer, audience, rule, top)
	}
	for i := range specs {
		sp := &specs[i]
		if sp.Kind != kindEdgejwt {
			continue
		}
		js := sp.Variant
		if sp.takesExtra {
			js = extra
		}
		cfg, err := build(js, sp.ruleExtra, sp.topExtra)
		if err != nil {
			return fmt.Errorf("setup %s: %v", sp.ID, err)
		}
		sp.FilterConfig = cfg
	}
	return nil
}

// filterConfig is the edgejwt configuration of setup (c), as in envoy.yaml:
// issuer, audience, JWKS through the cluster, the payload and two claims to
// headers. ruleExtra is merged into the rule and topExtra into the top level
// (a null value removes a member).
func filterConfig(iss *devservers.Issuer, audience string, ruleExtra, topExtra map[string]any) (string, error) {
	rule := map[string]any{
		"issuer":                iss.Name,
		"audiences":             []string{audience},
		"jwksUri":               iss.JWKSURI(),
		"jwksCluster":           jwksCluster,
		"outputPayloadToHeader": payloadHeader,
		"outputClaimToHeaders": []map[string]string{
			{"header": subHeader, "claim": "sub"},
			{"header": rolesHeader, "claim": "roles"},
		},
	}
	merge(rule, ruleExtra)
	top := map[string]any{"jwtRules": []any{rule}}
	merge(top, topExtra)
	b, err := json.Marshal(top)
	return string(b), err
}

// merge sets every member of extra in dst, recursively for objects; a null
// member deletes the key.
func merge(dst, extra map[string]any) {
	for k, v := range extra {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			if cur, ok := dst[k].(map[string]any); ok {
				merge(cur, sub)
				continue
			}
		}
		dst[k] = v
	}
}

func hasKind(specs []setupSpec, kind string) bool {
	for _, s := range specs {
		if s.Kind == kind {
			return true
		}
	}
	return false
}

func hasEnvoy(specs []setupSpec) bool {
	for _, s := range specs {
		if s.isEnvoy() {
			return true
		}
	}
	return false
}

// modulePath is the file of a Wasm setup's module.
func (b *bench) modulePath(sp setupSpec) string {
	switch sp.Module {
	case moduleRSA:
		return b.wasmRSAPath
	case moduleNoop:
		return b.wasmNoopPath
	default:
		return b.wasmPath
	}
}

// envoyConfig is the Envoy configuration of an Envoy setup in a mode: one
// listener with the setup's auth filter (if any) before the router, its one
// route to the upstream cluster (go) or answered by Envoy (direct), and the
// issuer's JWKS cluster (in every setup, used or not, so that the
// configurations differ only by the filter).
func (b *bench) envoyConfig(sp setupSpec, mode string, adminPort, listenPort int) envoyproc.Config {
	l := envoyproc.Listener{Port: listenPort}
	switch sp.Kind {
	case kindJwtAuthn:
		j := &envoyproc.JwtAuthn{
			Provider:          "bench",
			Issuer:            b.issuer.Name,
			Audiences:         []string{audience},
			RequireExpiration: true,
			Forward:           false,
			FromHeaders:       []envoyproc.FromHeader{{Name: "Authorization", Prefix: "Bearer "}},
			PayloadHeader:     payloadHeader,
			ClaimToHeaders: []envoyproc.ClaimHeader{
				{Header: subHeader, Claim: "sub"},
				{Header: rolesHeader, Claim: "roles"},
			},
			JWKSURI:       b.issuer.JWKSURI(),
			JWKSCluster:   jwksCluster,
			JWKSTimeout:   5 * time.Second,
			CacheDuration: 600 * time.Second,
		}
		if sp.JwtCache {
			j.JwtCacheSize = 100
		}
		l.Filters = []envoyproc.HTTPFilter{{JwtAuthn: j}}
	case kindEdgejwt:
		l.Filters = []envoyproc.HTTPFilter{{Wasm: &envoyproc.Wasm{
			Name:          "edgejwt",
			VMID:          "edgejwt",
			Path:          b.modulePath(sp),
			Configuration: sp.FilterConfig,
		}}}
	case kindNoop:
		l.Filters = []envoyproc.HTTPFilter{{Wasm: &envoyproc.Wasm{
			Name: "noop",
			VMID: "noop",
			Path: b.modulePath(sp),
		}}}
	}
	cfg := envoyproc.Config{AdminPort: adminPort}
	if !sp.KeepFreeMemory {
		cfg.MemoryRelease = envoyproc.ShippedMemoryRelease
	}
	if mode == modeDirect {
		l.Routes = []envoyproc.Route{{Direct: &envoyproc.DirectResponse{Status: 200, Body: directBody}}}
	} else {
		l.Routes = []envoyproc.Route{{Cluster: upstreamCluster}}
		cfg.Clusters = append(cfg.Clusters, envoyproc.Cluster{Name: upstreamCluster, Port: b.upstreamPort})
	}
	cfg.Listeners = []envoyproc.Listener{l}
	cfg.Clusters = append(cfg.Clusters, envoyproc.Cluster{Name: jwksCluster, Port: b.issuer.Port()})
	return cfg
}
