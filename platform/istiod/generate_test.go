//go:build istiocheck

package istiod

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	envoycluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	envoycore "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpwasm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	"istio.io/istio/pilot/pkg/config/kube/extensions"
	"istio.io/istio/pilot/pkg/model"
	networkingcore "istio.io/istio/pilot/pkg/networking/core"
	"istio.io/istio/pkg/kube/krt"
	"istio.io/istio/pkg/wasm"
	"sigs.k8s.io/yaml"

	"github.com/edgejwt/edgejwt/config"
)

// What deploy/istio/ deploys, and the names Istio gives it.
const (
	manifestDir  = "../../deploy/istio"
	pluginNS     = "istio-system"
	pluginName   = "edgejwt"
	jwksCluster  = "outbound|443||issuer.example" // Istio's cluster of serviceentry.yaml's port 443
	pluginIssuer = "https://issuer.example"
)

// Envoy filter names of Istio's own authentication and authorization.
const (
	jwtAuthnFilter = "envoy.filters.http.jwt_authn"
	istioAuthn     = "istio_authn"
	rbacFilter     = "envoy.filters.http.rbac"
	routerFilter   = "envoy.filters.http.router"
)

// readObject reads a manifest of deploy/istio/ as JSON-like data.
func readObject(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifestDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

// render writes objects as a YAML stream, as istiod's file input takes it.
func render(t *testing.T, objs ...map[string]any) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// spec returns obj's spec, to edit in place.
func spec(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }

// pluginObject is deploy/istio/wasmplugin.yaml with its url pointed at the
// test registry's image (the host replaced, the rest as shipped) and then
// edited by edit (nil: none).
func pluginObject(t *testing.T, registryHost string, edit func(obj map[string]any)) map[string]any {
	t.Helper()
	obj := readObject(t, "wasmplugin.yaml")
	s := spec(obj)
	url, _ := s["url"].(string)
	const shipped = "oci://registry.example.com/"
	if !strings.HasPrefix(url, shipped) {
		t.Fatalf("wasmplugin.yaml url %q: want %s...", url, shipped)
	}
	s["url"] = "oci://" + registryHost + "/" + strings.TrimPrefix(url, shipped)
	if edit != nil {
		edit(obj)
	}
	return obj
}

// gatewayObjects gives the plugin's proxies (istio: ingressgateway in
// istio-system) a listener, and Istio's own request authentication and
// authorization on it, to see where the plugin goes among Istio's filters.
func gatewayObjects(t *testing.T, meshJWKS string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, y := range []string{`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
`, `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: mesh-jwt, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules:
  - issuer: https://mesh-issuer.example
    jwks: 'JWKS'
`, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge-allow, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: ALLOW
  rules:
  - to: [{operation: {paths: ["/*"]}}]
`} {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(strings.Replace(y, "JWKS", meshJWKS, 1)), &o); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	return objs
}

// generation is istiod's view of a set of objects, and the ingress
// gateway proxy the plugin selects.
type generation struct {
	cg    *networkingcore.ConfigGenTest
	proxy *model.Proxy
}

// generate runs istiod's configuration generation on objects (a YAML
// stream) the way istiod is wired: WasmPlugins become TrafficExtensions
// through the extensions controller, on top of the config store.
func generate(t *testing.T, objects string) *generation {
	t.Helper()
	cg := networkingcore.NewConfigGenTest(t, networkingcore.TestOptions{
		ConfigString: objects,
		CreateConfigStore: func(c model.ConfigStoreController) model.ConfigStoreController {
			return extensions.NewController(c, nil, krt.GlobalDebugHandler)
		},
	})
	labels := map[string]string{"istio": "ingressgateway"}
	proxy := cg.SetupProxy(&model.Proxy{
		Type:            model.Router,
		ConfigNamespace: pluginNS,
		Labels:          labels,
		Metadata:        &model.NodeMetadata{Labels: labels, Namespace: pluginNS},
	})
	return &generation{cg: cg, proxy: proxy}
}

// gatewayHTTPFilters returns the HTTP filters of the gateway listener on
// port 8080, in order.
func (g *generation) gatewayHTTPFilters(t *testing.T) []*hcm.HttpFilter {
	t.Helper()
	var names []string
	for _, l := range g.cg.Listeners(g.proxy) {
		names = append(names, l.GetName())
		if l.GetAddress().GetSocketAddress().GetPortValue() != 8080 {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				m := &hcm.HttpConnectionManager{}
				if f.GetTypedConfig().MessageIs(m) {
					if err := f.GetTypedConfig().UnmarshalTo(m); err != nil {
						t.Fatal(err)
					}
					return m.GetHttpFilters()
				}
			}
		}
	}
	t.Fatalf("no HTTP connection manager on port 8080 among the gateway's listeners %q", names)
	return nil
}

// ecdsName is the name istiod gives the filter of the WasmPlugin name (in
// istio-system) in the listener and in its extension configuration (ECDS):
// the resource name of the TrafficExtension istiod translates it into,
// "extensions.istio.io/trafficextension/istio-system.<name>" and a marker.
func (g *generation) ecdsName(t *testing.T, name string) string {
	t.Helper()
	var all []string
	for _, ws := range g.cg.PushContext().TrafficExtensions(g.proxy) {
		for _, w := range ws {
			if w.Namespace == pluginNS && (w.Name == name || strings.HasPrefix(w.Name, name+"~")) {
				return w.ResourceName
			}
			all = append(all, w.ResourceName)
		}
	}
	t.Fatalf("no extension of the gateway is the WasmPlugin %s/%s; there are %q", pluginNS, name, all)
	return ""
}

// extensionConfigs is what istiod sends the proxy over ECDS for the named
// filters, as the agent receives it: each a TypedExtensionConfig in an Any.
func (g *generation) extensionConfigs(t *testing.T, names ...string) []*anypb.Any {
	t.Helper()
	ecs := g.cg.ConfigGen.BuildExtensionConfiguration(g.proxy, g.cg.PushContext(), names, nil)
	if len(ecs) != len(names) {
		t.Fatalf("istiod generated %d extension configurations for %q", len(ecs), names)
	}
	var out []*anypb.Any
	for _, ec := range ecs {
		a, err := anypb.New(ec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// convert is what pilot-agent does to an ECDS update before Envoy sees it:
// it pulls each remote module into its cache and points the configuration
// at the local file, or, when the module cannot be had, puts an RBAC filter
// in its place (deny-all unless the plugin fails open).
func convert(t *testing.T, cache wasm.Cache, resources []*anypb.Any) []*envoycore.TypedExtensionConfig {
	t.Helper()
	if err := wasm.MaybeConvertWasmExtensionConfig(resources, cache); err != nil {
		t.Fatalf("the agent's conversion: %v", err)
	}
	var out []*envoycore.TypedExtensionConfig
	for _, r := range resources {
		ec := &envoycore.TypedExtensionConfig{}
		if err := r.UnmarshalTo(ec); err != nil {
			t.Fatal(err)
		}
		out = append(out, ec)
	}
	return out
}

// wasmConfig returns the Wasm plugin configuration of an ECDS resource.
func wasmConfig(t *testing.T, ec *envoycore.TypedExtensionConfig) *wasmv3.PluginConfig {
	t.Helper()
	w := &httpwasm.Wasm{}
	if err := ec.GetTypedConfig().UnmarshalTo(w); err != nil {
		t.Fatalf("%s: not a Wasm HTTP filter (%s): %v", ec.GetName(), ec.GetTypedConfig().GetTypeUrl(), err)
	}
	return w.GetConfig()
}

// configurationOf returns the string a plugin configuration hands the filter.
func configurationOf(t *testing.T, pc *wasmv3.PluginConfig) string {
	t.Helper()
	s := &wrapperspb.StringValue{}
	if err := pc.GetConfiguration().UnmarshalTo(s); err != nil {
		t.Fatalf("configuration is a %s, not a StringValue: %v", pc.GetConfiguration().GetTypeUrl(), err)
	}
	return s.GetValue()
}

func filterNames(fs []*hcm.HttpFilter) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.GetName())
	}
	return names
}

// TestIstiodGeneration: what istiod makes of deploy/istio/ for the ingress
// gateway, and what the agent makes of that, checked field by field.
func TestIstiodGeneration(t *testing.T) {
	f := newFixture(t)
	plugin := pluginObject(t, f.registry.Host, nil)
	g := generate(t, render(t, append([]map[string]any{plugin, readObject(t, "serviceentry.yaml"),
		readObject(t, "destinationrule.yaml")}, gatewayObjects(t, string(f.issuer.JWKS()))...)...))

	t.Run("phase AUTHN", func(t *testing.T) {
		byPhase := g.cg.PushContext().TrafficExtensions(g.proxy)
		var names []string
		for _, w := range byPhase[extensionsv1alpha1.TrafficExtension_AUTHN] {
			names = append(names, w.ResourceName)
		}
		if !slices.Equal(names, []string{g.ecdsName(t, pluginName)}) {
			t.Fatalf("the gateway's AUTHN-phase extensions are %q, want the plugin alone (all phases: %v)", names, byPhase)
		}
	})

	t.Run("filter order", func(t *testing.T) {
		filters := g.gatewayHTTPFilters(t)
		names := filterNames(filters)
		t.Logf("the gateway's HTTP filters: %s", strings.Join(names, ", "))
		at := slices.Index(names, g.ecdsName(t, pluginName))
		if at < 0 {
			t.Fatalf("the plugin %s is not among the gateway's HTTP filters", g.ecdsName(t, pluginName))
		}
		// Istio's authentication (the RequestAuthentication's jwt_authn,
		// and istio_authn where Istio adds it) and authorization (RBAC)
		// come after it: they see only requests edgejwt let through.
		for _, after := range []string{jwtAuthnFilter, istioAuthn, rbacFilter, routerFilter} {
			i := slices.Index(names, after)
			switch {
			case i < 0 && after != istioAuthn:
				t.Errorf("no %s among the gateway's filters: the check of the order is vacuous", after)
			case i >= 0 && i < at:
				t.Errorf("%s comes before the plugin", after)
			}
		}
		// Only these may run before it: the metadata exchange and a
		// CUSTOM AuthorizationPolicy's ext_authz (none here).
		for _, before := range names[:at] {
			if before != "istio.metadata_exchange" && before != "envoy.filters.http.ext_authz" {
				t.Errorf("%s runs before the plugin", before)
			}
		}
		// The listener asks for the plugin over ECDS, and accepts either a
		// Wasm filter or the RBAC filter the agent puts in its place.
		cd := filters[at].GetConfigDiscovery()
		if cd == nil || !slices.Contains(cd.GetTypeUrls(), "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm") ||
			!slices.Contains(cd.GetTypeUrls(), "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC") ||
			cd.GetDefaultConfig() != nil {
			t.Errorf("the plugin's filter entry: %v", filters[at])
		}
	})

	t.Run("JWKS cluster", func(t *testing.T) {
		// The filter's default jwksCluster for jwksUri is the cluster Istio
		// builds from the ServiceEntry, with the DestinationRule's TLS.
		rule := spec(plugin)["pluginConfig"].(map[string]any)["jwtRules"].([]any)[0].(map[string]any)
		if got := config.IstioClusterName(rule["jwksUri"].(string)); got != jwksCluster {
			t.Fatalf("the filter's default jwksCluster is %q, want %q", got, jwksCluster)
		}
		var names []string
		var found *envoycluster.Cluster
		for _, c := range g.cg.Clusters(g.proxy) {
			names = append(names, c.GetName())
			if c.GetName() == jwksCluster {
				found = c
			}
		}
		if found == nil {
			t.Fatalf("istiod built no cluster %s for the gateway; it built %q", jwksCluster, names)
		}
		tls := &tlsv3.UpstreamTlsContext{}
		if ts := found.GetTransportSocket(); ts == nil || ts.GetTypedConfig().UnmarshalTo(tls) != nil {
			t.Fatalf("cluster %s has no TLS transport socket: %v", jwksCluster, found)
		}
		if tls.GetSni() != "issuer.example" {
			t.Errorf("cluster %s: SNI %q, want issuer.example", jwksCluster, tls.GetSni())
		}
		if found.GetType() != envoycluster.Cluster_STRICT_DNS && found.GetType() != envoycluster.Cluster_LOGICAL_DNS {
			t.Errorf("cluster %s: type %v, want DNS resolution", jwksCluster, found.GetType())
		}
	})

	t.Run("extension configuration", func(t *testing.T) {
		ecs := g.extensionConfigs(t, g.ecdsName(t, pluginName))
		ec := &envoycore.TypedExtensionConfig{}
		if err := ecs[0].UnmarshalTo(ec); err != nil {
			t.Fatal(err)
		}
		pc := wasmConfig(t, ec)
		remote := pc.GetVmConfig().GetCode().GetRemote()
		if remote.GetHttpUri().GetUri() != spec(plugin)["url"] || remote.GetSha256() != "" {
			t.Errorf("istiod's module source: %v, want the url as written and no sha256", remote)
		}
		env := pc.GetVmConfig().GetEnvironmentVariables().GetKeyValues()
		if env["ISTIO_META_WASM_IMAGE_PULL_POLICY"] != "IfNotPresent" {
			t.Errorf("environment %v: the pull policy does not reach the agent", env)
		}
		checkAsDeployed(t, pc, plugin)

		// The agent pulls the module and rewrites the configuration for
		// Envoy: a local file, the agent's variables removed, the rest
		// untouched.
		local := convert(t, f.cache, ecs)[0]
		lpc := wasmConfig(t, local)
		file := lpc.GetVmConfig().GetCode().GetLocal().GetFilename()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("the agent's module file: %v", err)
		}
		if !bytes.Equal(b, f.wasm) {
			t.Errorf("the agent's module %s (%d bytes) is not the filter (%d bytes)", file, len(b), len(f.wasm))
		}
		if lpc.GetVmConfig().GetEnvironmentVariables() != nil {
			t.Errorf("the agent left environment variables for Envoy: %v", lpc.GetVmConfig().GetEnvironmentVariables())
		}
		checkAsDeployed(t, lpc, plugin)
	})
}

// checkAsDeployed checks what Istio makes of the WasmPlugin's own fields,
// the ones that differ from this repository's envoy.yaml.
func checkAsDeployed(t *testing.T, pc *wasmv3.PluginConfig, plugin map[string]any) {
	t.Helper()
	// The plugin's name, no root_id: the filter ignores both.
	if !strings.HasPrefix(pc.GetName(), pluginNS+"."+pluginName) || pc.GetRootId() != "" {
		t.Errorf("name %q root_id %q", pc.GetName(), pc.GetRootId())
	}
	// No vm_id: every Wasm VM of the proxy that has none (all that Istio
	// configures) shares one shared-data namespace (envoy_test.go shows
	// what that means for the key sets).
	if id := pc.GetVmConfig().GetVmId(); id != "" {
		t.Errorf("vm_id %q, want none", id)
	}
	if rt := pc.GetVmConfig().GetRuntime(); rt != "envoy.wasm.runtime.v8" {
		t.Errorf("runtime %q", rt)
	}
	// failStrategy is Envoy's failure_policy: FAIL_CLOSE is FAIL_CLOSED, a
	// VM that fails at run time is not replaced; FAIL_RELOAD replaces it
	// (envoy_test.go).
	want := map[string]wasmv3.FailurePolicy{
		"FAIL_CLOSE":  wasmv3.FailurePolicy_FAIL_CLOSED,
		"FAIL_RELOAD": wasmv3.FailurePolicy_FAIL_RELOAD,
		"FAIL_OPEN":   wasmv3.FailurePolicy_FAIL_OPEN,
	}[spec(plugin)["failStrategy"].(string)]
	if pc.GetFailurePolicy() != want {
		t.Errorf("failure_policy %v, want %v for failStrategy %s", pc.GetFailurePolicy(), want, spec(plugin)["failStrategy"])
	}
	// pluginConfig arrives as one line of JSON with the keys of every
	// object sorted (a protobuf Struct marshalled to JSON), whatever their
	// order in the YAML.
	got := configurationOf(t, pc)
	wantJSON, err := json.Marshal(spec(plugin)["pluginConfig"]) // sorted keys, no spaces
	if err != nil {
		t.Fatal(err)
	}
	if got != string(wantJSON) {
		t.Errorf("configuration\n%s\nwant the pluginConfig as compact JSON with sorted keys\n%s", got, wantJSON)
	}
	if _, err := config.Parse([]byte(got)); err != nil {
		t.Errorf("config.Parse refuses the configuration Istio hands the filter: %v", err)
	}
}
