package envoyproc

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// parse renders c and parses the YAML back.
func parse(t *testing.T, c Config) map[string]any {
	t.Helper()
	s, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("rendered YAML does not parse: %v\n%s", err, s)
	}
	return doc
}

// dig walks maps by string key and lists by int index; it fails the test
// when the path is absent.
func dig(t *testing.T, node any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := node.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %v", path, path[:i])
			}
			v, ok := m[k]
			if !ok {
				t.Fatalf("%v: no %q (have %v)", path, k, keys(m))
			}
			node = v
		case int:
			l, ok := node.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no element %d at %v", path, k, path[:i])
			}
			node = l[k]
		}
	}
	return node
}

func has(node any, key string) bool {
	m, ok := node.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// hcm is listener i's HTTP connection manager.
func hcm(t *testing.T, doc map[string]any, i int) any {
	t.Helper()
	f := dig(t, doc, "static_resources", "listeners", i, "filter_chains", 0, "filters", 0)
	if dig(t, f, "name") != "envoy.filters.network.http_connection_manager" {
		t.Fatalf("listener %d: first network filter %v", i, dig(t, f, "name"))
	}
	return dig(t, f, "typed_config")
}

func TestRenderNoAuthToCluster(t *testing.T) {
	c := Config{
		AdminPort: 9901,
		Listeners: []Listener{{Port: 8080, Routes: []Route{{Cluster: "upstream"}}}},
		Clusters:  []Cluster{{Name: "upstream", Port: 8081}, {Name: "jwks", Address: "10.0.0.1", Port: 8082, ConnectTimeout: 250 * time.Millisecond}},
	}
	doc := parse(t, c)
	if got := dig(t, doc, "admin", "address", "socket_address", "port_value"); got != 9901 {
		t.Errorf("admin port %v", got)
	}
	if c.AdminURL() != "http://127.0.0.1:9901" || c.ListenerAddr(0) != "127.0.0.1:8080" || c.ListenerURL(0) != "http://127.0.0.1:8080" {
		t.Errorf("AdminURL %s, ListenerAddr %s", c.AdminURL(), c.ListenerAddr(0))
	}
	l := dig(t, doc, "static_resources", "listeners", 0)
	if dig(t, l, "name") != "main" || dig(t, l, "address", "socket_address", "port_value") != 8080 {
		t.Errorf("listener %v", l)
	}
	h := hcm(t, doc, 0)
	if dig(t, h, "stat_prefix") != "ingress" {
		t.Errorf("stat_prefix %v", dig(t, h, "stat_prefix"))
	}
	route := dig(t, h, "route_config", "virtual_hosts", 0, "routes", 0)
	if dig(t, route, "match", "prefix") != "/" || dig(t, route, "route", "cluster") != "upstream" || has(route, "direct_response") {
		t.Errorf("route %v", route)
	}
	filters := dig(t, h, "http_filters").([]any)
	if len(filters) != 1 || dig(t, filters[0], "name") != "envoy.filters.http.router" {
		t.Errorf("http_filters %v, want the router alone", filters)
	}
	cl := dig(t, doc, "static_resources", "clusters").([]any)
	if len(cl) != 2 {
		t.Fatalf("clusters %v", cl)
	}
	if dig(t, cl[0], "name") != "upstream" || dig(t, cl[0], "connect_timeout") != "1s" || dig(t, cl[0], "type") != "STATIC" {
		t.Errorf("cluster 0 %v", cl[0])
	}
	ep := dig(t, cl[1], "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")
	if dig(t, ep, "address") != "10.0.0.1" || dig(t, ep, "port_value") != 8082 || dig(t, cl[1], "connect_timeout") != "0.25s" {
		t.Errorf("cluster 1 %v", cl[1])
	}
}

func TestRenderDirectResponse(t *testing.T) {
	doc := parse(t, Config{
		AdminPort: 1,
		Listeners: []Listener{{Port: 2, Routes: []Route{
			{Prefix: "/healthz", Direct: &DirectResponse{Status: 204}},
			{Direct: &DirectResponse{Body: `{"ok":true}` + "\n"}},
		}}},
	})
	routes := dig(t, hcm(t, doc, 0), "route_config", "virtual_hosts", 0, "routes").([]any)
	if len(routes) != 2 {
		t.Fatalf("routes %v", routes)
	}
	if dig(t, routes[0], "match", "prefix") != "/healthz" || dig(t, routes[0], "direct_response", "status") != 204 ||
		has(dig(t, routes[0], "direct_response"), "body") || has(routes[0], "route") {
		t.Errorf("route 0 %v", routes[0])
	}
	if dig(t, routes[1], "direct_response", "status") != 200 || dig(t, routes[1], "direct_response", "body", "inline_string") != "{\"ok\":true}\n" {
		t.Errorf("route 1 %v", routes[1])
	}
	if has(dig(t, doc, "static_resources"), "clusters") {
		t.Error("clusters rendered without any")
	}
}

func TestRenderJwtAuthn(t *testing.T) {
	j := &JwtAuthn{
		Provider:          "bench",
		Issuer:            "http://127.0.0.1:9/iss",
		Audiences:         []string{"api", "other"},
		RequireExpiration: true,
		FromHeaders:       []FromHeader{{Name: "Authorization", Prefix: "Bearer "}},
		PayloadHeader:     "x-jwt-payload",
		ClaimToHeaders:    []ClaimHeader{{Header: "x-jwt-sub", Claim: "sub"}, {Header: "x-jwt-roles", Claim: "roles"}},
		JWKSURI:           "http://127.0.0.1:9/jwks.json",
		JWKSCluster:       "jwks_issuer",
	}
	for _, cache := range []int{0, 100} {
		j.JwtCacheSize = cache
		doc := parse(t, Config{AdminPort: 1, Listeners: []Listener{{Port: 2, Filters: []HTTPFilter{{JwtAuthn: j}}, Routes: []Route{{Cluster: "u"}}}}})
		filters := dig(t, hcm(t, doc, 0), "http_filters").([]any)
		if len(filters) != 2 || dig(t, filters[0], "name") != "envoy.filters.http.jwt_authn" || dig(t, filters[1], "name") != "envoy.filters.http.router" {
			t.Fatalf("http_filters %v", filters)
		}
		tc := dig(t, filters[0], "typed_config")
		p := dig(t, tc, "providers", "bench")
		want := map[string]any{
			"issuer":                 j.Issuer,
			"audiences":              []any{"api", "other"},
			"require_expiration":     true,
			"forward":                false,
			"from_headers":           []any{map[string]any{"name": "Authorization", "value_prefix": "Bearer "}},
			"forward_payload_header": "x-jwt-payload",
			"claim_to_headers": []any{
				map[string]any{"header_name": "x-jwt-sub", "claim_name": "sub"},
				map[string]any{"header_name": "x-jwt-roles", "claim_name": "roles"},
			},
			"remote_jwks": map[string]any{
				"http_uri":       map[string]any{"uri": j.JWKSURI, "cluster": "jwks_issuer", "timeout": "5s"},
				"cache_duration": "600s",
			},
		}
		if cache > 0 {
			want["jwt_cache_config"] = map[string]any{"jwt_cache_size": 100}
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("cache %d: provider\n%v\nwant\n%v", cache, p, want)
		}
		rule := dig(t, tc, "rules", 0)
		if dig(t, rule, "match", "prefix") != "/" || dig(t, rule, "requires", "provider_name") != "bench" {
			t.Errorf("rule %v", rule)
		}
	}

	// Defaults: provider name, no audiences, no optional members.
	doc := parse(t, Config{AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: []Route{{Cluster: "u"}},
		Filters: []HTTPFilter{{JwtAuthn: &JwtAuthn{Issuer: "i", JWKSURI: "http://x/j", JWKSCluster: "c", JWKSTimeout: 2 * time.Second}}}}}})
	tc := dig(t, hcm(t, doc, 0), "http_filters", 0, "typed_config")
	p := dig(t, tc, "providers", "default")
	for _, k := range []string{"audiences", "from_headers", "forward_payload_header", "claim_to_headers", "jwt_cache_config"} {
		if has(p, k) {
			t.Errorf("default provider has %s: %v", k, p)
		}
	}
	if dig(t, p, "remote_jwks", "http_uri", "timeout") != "2s" || dig(t, tc, "rules", 0, "requires", "provider_name") != "default" {
		t.Errorf("provider %v", p)
	}
}

func TestRenderWasm(t *testing.T) {
	cfg := `{"jwtRules":[{"issuer":"it's \"quoted\"\n"}]}`
	doc := parse(t, Config{AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: []Route{{Cluster: "u"}}, Filters: []HTTPFilter{{Wasm: &Wasm{
		Name:          "edgejwt",
		Path:          "/tmp/a b/edgejwt.wasm",
		Configuration: cfg,
		FailurePolicy: "FAIL_RELOAD",
		Env:           map[string]string{"GOGC": "50", "A": "x: y"},
	}}}}}})
	f := dig(t, hcm(t, doc, 0), "http_filters", 0)
	if dig(t, f, "name") != "envoy.filters.http.wasm" {
		t.Fatalf("filter %v", f)
	}
	c := dig(t, f, "typed_config", "config")
	if dig(t, c, "name") != "edgejwt" || dig(t, c, "failure_policy") != "FAIL_RELOAD" || has(c, "root_id") {
		t.Errorf("config %v", c)
	}
	if dig(t, c, "configuration", "@type") != "type.googleapis.com/google.protobuf.StringValue" || dig(t, c, "configuration", "value") != cfg {
		t.Errorf("configuration %v", dig(t, c, "configuration"))
	}
	vm := dig(t, c, "vm_config")
	if dig(t, vm, "vm_id") != "edgejwt" || dig(t, vm, "runtime") != "envoy.wasm.runtime.v8" || dig(t, vm, "code", "local", "filename") != "/tmp/a b/edgejwt.wasm" {
		t.Errorf("vm_config %v", vm)
	}
	if got := dig(t, vm, "environment_variables", "key_values"); !reflect.DeepEqual(got, map[string]any{"GOGC": "50", "A": "x: y"}) {
		t.Errorf("env %v", got)
	}

	// The minimum: no configuration, no policy, no environment; vm_id and
	// root_id as given.
	doc = parse(t, Config{AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: []Route{{Cluster: "u"}}, Filters: []HTTPFilter{{Wasm: &Wasm{
		Name: "noop", VMID: "vm", RootID: "root", Path: "noop.wasm",
	}}}}}})
	c = dig(t, hcm(t, doc, 0), "http_filters", 0, "typed_config", "config")
	for _, k := range []string{"configuration", "failure_policy"} {
		if has(c, k) {
			t.Errorf("minimal config has %s: %v", k, c)
		}
	}
	if dig(t, c, "root_id") != "root" || dig(t, c, "vm_config", "vm_id") != "vm" || has(dig(t, c, "vm_config"), "environment_variables") {
		t.Errorf("config %v", c)
	}
}

func TestRenderSeveralListenersAndFilters(t *testing.T) {
	w := &Wasm{Name: "edgejwt", Path: "f.wasm", Configuration: "{}"}
	doc := parse(t, Config{AdminPort: 1, Listeners: []Listener{
		{Port: 2, Filters: []HTTPFilter{{Wasm: w}}, Routes: []Route{{Cluster: "u", RequestHeadersToAdd: []Header{{Name: "x-claims", Value: "%FILTER_STATE(wasm.claims:PLAIN)%"}}}}},
		{Name: "second", Port: 3, StatPrefix: "other", Filters: []HTTPFilter{{Wasm: w}, {JwtAuthn: &JwtAuthn{Issuer: "i", JWKSURI: "http://x/j", JWKSCluster: "c"}}}, Routes: []Route{{Direct: &DirectResponse{}}}},
		{Port: 4, Routes: []Route{{Cluster: "u"}}},
	}})
	ls := dig(t, doc, "static_resources", "listeners").([]any)
	if len(ls) != 3 || dig(t, ls[0], "name") != "main" || dig(t, ls[1], "name") != "second" || dig(t, ls[2], "name") != "listener_2" {
		t.Fatalf("listeners %v", ls)
	}
	add := dig(t, hcm(t, doc, 0), "route_config", "virtual_hosts", 0, "routes", 0, "request_headers_to_add", 0, "header")
	if dig(t, add, "key") != "x-claims" || dig(t, add, "value") != "%FILTER_STATE(wasm.claims:PLAIN)%" {
		t.Errorf("request_headers_to_add %v", add)
	}
	h := hcm(t, doc, 1)
	if dig(t, h, "stat_prefix") != "other" {
		t.Errorf("stat_prefix %v", dig(t, h, "stat_prefix"))
	}
	var names []string
	for _, f := range dig(t, h, "http_filters").([]any) {
		names = append(names, dig(t, f, "name").(string))
	}
	if want := []string{"envoy.filters.http.wasm", "envoy.filters.http.jwt_authn", "envoy.filters.http.router"}; !reflect.DeepEqual(names, want) {
		t.Errorf("filters %v, want %v", names, want)
	}
}

func TestRenderRefuses(t *testing.T) {
	route := []Route{{Cluster: "u"}}
	for name, c := range map[string]Config{
		"no admin port":      {Listeners: []Listener{{Port: 2, Routes: route}}},
		"no listener":        {AdminPort: 1},
		"no listener port":   {AdminPort: 1, Listeners: []Listener{{Routes: route}}},
		"no route":           {AdminPort: 1, Listeners: []Listener{{Port: 2}}},
		"route with both":    {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: []Route{{Cluster: "u", Direct: &DirectResponse{}}}}}},
		"route with neither": {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: []Route{{Prefix: "/"}}}}},
		"empty filter":       {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, Filters: []HTTPFilter{{}}}}},
		"two in one filter": {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, Filters: []HTTPFilter{{
			Wasm: &Wasm{Name: "a", Path: "b"}, JwtAuthn: &JwtAuthn{Issuer: "i", JWKSURI: "u", JWKSCluster: "c"}}}}}},
		"wasm without path":   {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, Filters: []HTTPFilter{{Wasm: &Wasm{Name: "a"}}}}}},
		"bad failure policy":  {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, Filters: []HTTPFilter{{Wasm: &Wasm{Name: "a", Path: "b", FailurePolicy: "FAIL_SOMETIMES"}}}}}},
		"jwt_authn no issuer": {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, Filters: []HTTPFilter{{JwtAuthn: &JwtAuthn{JWKSURI: "u", JWKSCluster: "c"}}}}}},
		"cluster no port":     {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route}}, Clusters: []Cluster{{Name: "u"}}},
		"two clusters":        {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route}}, Clusters: []Cluster{{Name: "u", Port: 3}, {Name: "u", Port: 4}}},
		"HCM field rendered":  {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, HCM: map[string]any{"route_config": map[string]any{}}}}},
		"HTTP3 without TLS":   {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, HTTP3: true}}},
		"TLS without key":     {AdminPort: 1, Listeners: []Listener{{Port: 2, Routes: route, TLS: &ListenerTLS{CertFile: "c"}}}},
	} {
		if s, err := c.Render(); err == nil {
			t.Errorf("%s: rendered\n%s", name, s)
		}
	}
}

func TestAdminURLOf(t *testing.T) {
	c := Config{AdminPort: 19000, Listeners: []Listener{{Port: 2, Routes: []Route{{Cluster: "u"}}}}}
	s, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := AdminURLOf(s); err != nil || u != "http://127.0.0.1:19000" {
		t.Errorf("AdminURLOf = %q, %v", u, err)
	}
	if u, err := AdminURLOf("admin:\n  address: {socket_address: {address: \"::1\", port_value: 9}}\n"); err != nil || u != "http://[::1]:9" {
		t.Errorf("AdminURLOf IPv6 = %q, %v", u, err)
	}
	if _, err := AdminURLOf("static_resources: {}\n"); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("no admin: %v", err)
	}
}

func TestRenderTLSHTTP3AndHCM(t *testing.T) {
	route := []Route{{Cluster: "u"}}
	extra := map[string]any{"normalize_path": true, "path_with_escaped_slashes_action": "UNESCAPE_AND_REDIRECT"}
	doc := parse(t, Config{AdminPort: 1, Listeners: []Listener{
		{Port: 2, Routes: route, HCM: extra},
		{Port: 3, Routes: route, TLS: &ListenerTLS{CertFile: "cert.pem", KeyFile: "key.pem", ClientCAFile: "ca.pem"}},
		{Port: 4, Routes: route, TLS: &ListenerTLS{CertFile: "cert.pem", KeyFile: "key.pem"}, HTTP3: true},
	}})
	plain := hcm(t, doc, 0)
	for k, v := range extra {
		if got := dig(t, plain, k); got != v {
			t.Errorf("HCM %s = %v, want %v", k, got, v)
		}
	}
	if has(dig(t, doc, "static_resources", "listeners", 0, "filter_chains", 0), "transport_socket") {
		t.Error("a listener without TLS has a transport socket")
	}

	mtls := dig(t, doc, "static_resources", "listeners", 1, "filter_chains", 0, "transport_socket")
	if dig(t, mtls, "name") != "envoy.transport_sockets.tls" || dig(t, mtls, "typed_config", "require_client_certificate") != true {
		t.Errorf("TLS listener's transport socket %v", mtls)
	}
	common := dig(t, mtls, "typed_config", "common_tls_context")
	if dig(t, common, "tls_certificates", 0, "certificate_chain", "filename") != "cert.pem" ||
		dig(t, common, "tls_certificates", 0, "private_key", "filename") != "key.pem" ||
		dig(t, common, "validation_context", "trusted_ca", "filename") != "ca.pem" {
		t.Errorf("common_tls_context %v", common)
	}

	h3 := dig(t, doc, "static_resources", "listeners", 2)
	if dig(t, h3, "address", "socket_address", "protocol") != "UDP" || !has(h3, "udp_listener_config") {
		t.Errorf("HTTP/3 listener %v", h3)
	}
	quic := dig(t, h3, "filter_chains", 0, "transport_socket")
	if dig(t, quic, "name") != "envoy.transport_sockets.quic" ||
		dig(t, quic, "typed_config", "downstream_tls_context", "common_tls_context", "tls_certificates", 0, "certificate_chain", "filename") != "cert.pem" {
		t.Errorf("QUIC transport socket %v", quic)
	}
	if has(dig(t, quic, "typed_config", "downstream_tls_context", "common_tls_context"), "validation_context") {
		t.Error("a listener without ClientCAFile validates client certificates")
	}
	if dig(t, hcm(t, doc, 2), "codec_type") != "HTTP3" {
		t.Errorf("HTTP/3 listener's codec %v", dig(t, hcm(t, doc, 2), "codec_type"))
	}
}
