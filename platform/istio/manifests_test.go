package istio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/golang/protobuf/jsonpb" //nolint:staticcheck // istiod's own JSON codec (pkg/util/protomarshal)
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	extensionsv1alpha1 "istio.io/api/extensions/v1alpha1"
	networkingv1 "istio.io/api/networking/v1"
	securityv1 "istio.io/api/security/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/platform/internal/crdcheck"
)

// The CRDs Istio publishes, from the Go module platform/go.mod selects.
const (
	istioAPIModule = "istio.io/api"
	crdFile        = "kubernetes/customresourcedefinitions.gen.yaml"
)

// The manifests checked: deploy/istio/ of the repository.
const manifestDir = "../../deploy/istio"

var manifests = []string{"wasmplugin.yaml", "serviceentry.yaml", "destinationrule.yaml"}

var (
	crdsOnce sync.Once
	crds     *crdcheck.Set
	crdsErr  error
)

// loadCRDs reads Istio's published CRDs once per test binary.
func loadCRDs(t *testing.T) *crdcheck.Set {
	t.Helper()
	crdsOnce.Do(func() {
		path, _, err := crdcheck.ModuleFile(istioAPIModule, crdFile)
		if err != nil {
			crdsErr = err
			return
		}
		crds, crdsErr = crdcheck.Load(path)
	})
	if crdsErr != nil {
		t.Fatalf("loading Istio's CRDs: %v", crdsErr)
	}
	return crds
}

// splitYAML returns the JSON of each document of a YAML stream.
func splitYAML(b []byte) ([][]byte, error) { return crdcheck.SplitYAML(b) }

// readObjects decodes every document of a manifest as the API server would
// receive it.
func readObjects(t *testing.T, name string, b []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := crdcheck.ReadObjects(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

// decodeSpec decodes spec into Istio's API type for the kind, strictly (an
// unknown field is an error), with istiod's JSON codec.
func decodeSpec(obj *unstructured.Unstructured) (proto.Message, error) {
	var msg proto.Message
	switch obj.GetKind() {
	case "WasmPlugin":
		msg = &extensionsv1alpha1.WasmPlugin{}
	case "ServiceEntry":
		msg = &networkingv1.ServiceEntry{}
	case "DestinationRule":
		msg = &networkingv1.DestinationRule{}
	// The Istio side of docs/authorization.md's side-by-side.
	case "RequestAuthentication":
		msg = &securityv1.RequestAuthentication{}
	case "AuthorizationPolicy":
		msg = &securityv1.AuthorizationPolicy{}
	default:
		return nil, fmt.Errorf("kind %s: not one deploy/istio/ deploys", obj.GetKind())
	}
	spec, err := json.Marshal(obj.Object["spec"])
	if err != nil {
		return nil, err
	}
	if err := (&jsonpb.Unmarshaler{}).Unmarshal(bytes.NewReader(spec), protoadapt.MessageV1Of(msg)); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return msg, nil
}

// pluginConfiguration is the string the filter receives from Istio: istiod
// marshals WasmPlugin.spec.pluginConfig (a google.protobuf.Struct) with
// protomarshal.ToJSON, i.e. jsonpb.Marshaler{}, into a StringValue
// (pilot/pkg/model/extensions.go).
func pluginConfiguration(wp *extensionsv1alpha1.WasmPlugin) (string, error) {
	if wp.GetPluginConfig() == nil {
		return "", errors.New("spec.pluginConfig is missing")
	}
	return (&jsonpb.Marshaler{}).MarshalToString(protoadapt.MessageV1Of(wp.GetPluginConfig()))
}

// checkObject validates one object fully: CRD, typed spec and, for a
// WasmPlugin, the filter's own parse of its configuration.
func checkObject(crds *crdcheck.Set, obj *unstructured.Unstructured) (proto.Message, *config.Config, error) {
	if errs := crds.Validate(obj); len(errs) > 0 {
		return nil, nil, errs.ToAggregate()
	}
	msg, err := decodeSpec(obj)
	if err != nil {
		return nil, nil, err
	}
	wp, ok := msg.(*extensionsv1alpha1.WasmPlugin)
	if !ok {
		return msg, nil, nil
	}
	js, err := pluginConfiguration(wp)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Parse([]byte(js))
	if err != nil {
		return nil, nil, fmt.Errorf("pluginConfig refused by config.Parse: %w\nconfiguration: %s", err, js)
	}
	return msg, cfg, nil
}

// readManifest reads a manifest of deploy/istio/.
func readManifest(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifestDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestManifestsValid validates every manifest of deploy/istio/ against Istio's
// CRDs and API types, and the WasmPlugin's configuration with config.Parse.
func TestManifestsValid(t *testing.T) {
	crds := loadCRDs(t)
	t.Logf("CRDs from %s (%d served kinds and versions)", crds.Sources, crds.Len())
	for _, name := range manifests {
		objs := readObjects(t, name, readManifest(t, name))
		if len(objs) == 0 {
			t.Errorf("%s: no object", name)
		}
		for _, obj := range objs {
			if _, _, err := checkObject(crds, obj); err != nil {
				t.Errorf("%s: %s %s/%s: %v", name, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
			}
		}
	}
}

// placed is a decoded object with its namespace.
type placed struct {
	namespace string
	msg       proto.Message
	cfg       *config.Config // the parsed pluginConfig of a WasmPlugin
}

// visibleFrom tells whether an object in namespace objNS with exportTo is
// seen by proxies in namespace from.
func visibleFrom(objNS string, exportTo []string, from string) bool {
	return len(exportTo) == 0 || slices.Contains(exportTo, "*") || slices.Contains(exportTo, from) ||
		(slices.Contains(exportTo, ".") && objNS == from)
}

// clusterTLS is the TLS mode the DestinationRules visible from namespace
// give port of host ("" when none sets one).
func clusterTLS(objs []placed, from, host string, port uint32) string {
	for _, o := range objs {
		dr, ok := o.msg.(*networkingv1.DestinationRule)
		if !ok || dr.GetHost() != host || !visibleFrom(o.namespace, dr.GetExportTo(), from) {
			continue
		}
		for _, pl := range dr.GetTrafficPolicy().GetPortLevelSettings() {
			if pl.GetPort().GetNumber() == port && pl.GetTls() != nil {
				return pl.GetTls().GetMode().String()
			}
		}
		if tls := dr.GetTrafficPolicy().GetTls(); tls != nil {
			return tls.GetMode().String()
		}
	}
	return ""
}

// loadPlaced validates the given manifests and returns their objects.
func loadPlaced(t *testing.T, crds *crdcheck.Set, objs []*unstructured.Unstructured) []placed {
	t.Helper()
	var out []placed
	for _, obj := range objs {
		msg, cfg, err := checkObject(crds, obj)
		if err != nil {
			t.Fatalf("%s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		out = append(out, placed{obj.GetNamespace(), msg, cfg})
	}
	return out
}

// clusterGap says what is missing for the filter to fetch uri through the
// cluster named cluster from proxies in namespace from ("" when nothing is):
// the cluster must be Istio's name for a ServiceEntry host and port visible
// there, and an https uri needs a DestinationRule originating TLS on it.
func clusterGap(objs []placed, from, uri, cluster string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return err.Error()
	}
	if cluster != config.IstioClusterName(uri) {
		return fmt.Sprintf("jwksCluster %q: the manifests rely on the default, Istio's name %q", cluster, config.IstioClusterName(uri))
	}
	parts := strings.Split(cluster, "|") // outbound|<port>||<host>
	port64, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return fmt.Sprintf("cluster %q: %v", cluster, err)
	}
	port := uint32(port64)
	found := false
	for _, o := range objs {
		se, ok := o.msg.(*networkingv1.ServiceEntry)
		if !ok || !visibleFrom(o.namespace, se.GetExportTo(), from) || !slices.Contains(se.GetHosts(), u.Hostname()) {
			continue
		}
		for _, sp := range se.GetPorts() {
			found = found || sp.GetNumber() == port
		}
	}
	if !found {
		return fmt.Sprintf("no ServiceEntry visible in %s with host %s and port %d: Istio builds no cluster %s",
			from, u.Hostname(), port, cluster)
	}
	tls := clusterTLS(objs, from, u.Hostname(), port)
	switch {
	case u.Scheme == "https" && tls != "SIMPLE":
		return fmt.Sprintf("cluster %s has TLS mode %q, want a DestinationRule with tls.mode SIMPLE for port %d", cluster, tls, port)
	case u.Scheme == "http" && tls != "" && tls != "DISABLE":
		return fmt.Sprintf("cluster %s has TLS mode %q for an http URI", cluster, tls)
	}
	return ""
}

// fitErrors checks what no schema does: that each WasmPlugin asks for what
// the mesh configuration provides. The cluster of each jwksUri rule
// (outbound|<port>||<host>) must be one Istio builds from a ServiceEntry
// visible to the plugin's proxies, and an https jwksUri needs a
// DestinationRule that originates TLS on that port.
func fitErrors(objs []placed) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	plugins := 0
	for _, p := range objs {
		wp, ok := p.msg.(*extensionsv1alpha1.WasmPlugin)
		if !ok {
			continue
		}
		plugins++
		// FAIL_RELOAD replaces a VM that failed while serving; FAIL_CLOSE
		// would leave it failed; FAIL_OPEN lets requests through when the
		// module cannot be had (make istio-check shows all three).
		if wp.GetPhase() != extensionsv1alpha1.PluginPhase_AUTHN || wp.GetFailStrategy() != extensionsv1alpha1.FailStrategy_FAIL_RELOAD {
			fail("WasmPlugin phase %s failStrategy %s, want AUTHN and FAIL_RELOAD", wp.GetPhase(), wp.GetFailStrategy())
		}
		if u, err := url.Parse(wp.GetUrl()); err != nil || u.Scheme != "oci" {
			fail("WasmPlugin url %q: want an oci:// image", wp.GetUrl())
		}
		fetched := 0
		for i, r := range p.cfg.Rules {
			uri, what := r.JWKSURI, "jwksUri"
			switch {
			case r.OIDCDiscovery:
				// The discovery document comes from the issuer's host; the
				// jwks_uri it names is known only at run time.
				uri, what = strings.TrimSuffix(r.Issuer, "/")+"/.well-known/openid-configuration", "oidcDiscovery"
				if r.JWKSCluster == "" {
					r.JWKSCluster = config.IstioClusterName(uri)
				}
			case uri == "":
				continue
			}
			fetched++
			if msg := clusterGap(objs, p.namespace, uri, r.JWKSCluster); msg != "" {
				fail("jwtRules[%d] (%s %s): %s", i, what, uri, msg)
			}
		}
		if fetched == 0 {
			fail("WasmPlugin has no jwksUri or oidcDiscovery rule: nothing to check the ServiceEntry against")
		}
	}
	if plugins == 0 {
		fail("no WasmPlugin")
	}
	return errs
}

func allObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, name := range manifests {
		objs = append(objs, readObjects(t, name, readManifest(t, name))...)
	}
	return objs
}

func TestManifestsFitTogether(t *testing.T) {
	crds := loadCRDs(t)
	if errs := fitErrors(loadPlaced(t, crds, allObjects(t))); len(errs) > 0 {
		t.Error(strings.Join(errs, "\n"))
	}
}

// TestFitRefusesGaps: the cross-checks of fitErrors catch a missing or
// mismatched ServiceEntry or DestinationRule.
func TestFitRefusesGaps(t *testing.T) {
	crds := loadCRDs(t)
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured
		wantErr string
	}{
		{"no DestinationRule", func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
			return slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "DestinationRule" })
		}, `cluster outbound|443||issuer.example has TLS mode ""`},
		{"ServiceEntry on another port", func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
			for _, o := range objs {
				if o.GetKind() == "ServiceEntry" {
					ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
					ports[0].(map[string]any)["number"] = int64(8443)
					set(t, o, ports, "spec", "ports")
				}
			}
			return objs
		}, "no ServiceEntry visible in istio-system with host issuer.example and port 443"},
		{"ServiceEntry not exported to the plugin", func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
			for _, o := range objs {
				if o.GetKind() == "ServiceEntry" {
					o.SetNamespace("apps")
				}
			}
			return objs
		}, "no ServiceEntry visible in istio-system"},
		{"failStrategy FAIL_OPEN", func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
			for _, o := range objs {
				if o.GetKind() == "WasmPlugin" {
					set(t, o, "FAIL_OPEN", "spec", "failStrategy")
				}
			}
			return objs
		}, "failStrategy FAIL_OPEN, want AUTHN and FAIL_RELOAD"},
		{"jwksUri on another host", func(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
			for _, o := range objs {
				if o.GetKind() == "WasmPlugin" {
					editRule(t, o, func(r map[string]any) { r["jwksUri"] = "https://keys.issuer.example/jwks.json" })
				}
			}
			return objs
		}, "host keys.issuer.example and port 443: Istio builds no cluster outbound|443||keys.issuer.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := fitErrors(loadPlaced(t, crds, tc.edit(t, allObjects(t))))
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.wantErr) }) {
				t.Fatalf("errors %q\nwant one containing %q", errs, tc.wantErr)
			}
		})
	}
}

// firstObject returns the only object of a manifest of deploy/istio/.
func firstObject(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	objs := readObjects(t, name, readManifest(t, name))
	if len(objs) != 1 {
		t.Fatalf("%s: %d objects, want 1", name, len(objs))
	}
	return objs[0]
}

func set(t *testing.T, obj *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(obj.Object, runtime.DeepCopyJSONValue(value), path...); err != nil {
		t.Fatal(err)
	}
}

// editRule changes spec.pluginConfig.jwtRules[0] of a WasmPlugin.
func editRule(t *testing.T, obj *unstructured.Unstructured, edit func(rule map[string]any)) {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "pluginConfig", "jwtRules") // a copy
	if len(rules) == 0 {
		t.Fatal("no spec.pluginConfig.jwtRules")
	}
	edit(rules[0].(map[string]any))
	set(t, obj, rules, "spec", "pluginConfig", "jwtRules")
}

// TestValidationRefusesMistakes shows that the validation is not vacuous:
// each mistake below, made on a copy of a manifest, is refused, by the CRD
// schema, its CEL rules, strict decoding, or the filter's config.Parse.
func TestValidationRefusesMistakes(t *testing.T) {
	crds := loadCRDs(t)
	hex := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, file string
		mutate     func(t *testing.T, o *unstructured.Unstructured)
		wantErr    string
	}{
		{"sha256 with its prefix", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "sha256:"+hex, "spec", "sha256")
		}, "spec.sha256 in body should match"},
		{"unknown phase", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "AUTH", "spec", "phase")
		}, `spec.phase: Unsupported value: "AUTH"`},
		{"misspelt failStrategy", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "FAIL_CLOSED", "spec", "failStrategy")
		}, `spec.failStrategy: Unsupported value: "FAIL_CLOSED"`},
		{"unknown spec field", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "AUTHN", "spec", "stage")
		}, "spec.stage: Invalid value: \"\": unknown field"},
		{"url scheme", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "ftp://registry.example.com/edgejwt.wasm", "spec", "url")
		}, "url must have schema one of [http, https, file, oci]"},
		{"selector and targetRefs", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, []any{map[string]any{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "edge"}}, "spec", "targetRefs")
		}, "only one of targetRefs or selector can be set"},
		{"wildcard label", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "*", "spec", "selector", "matchLabels", "istio")
		}, "wildcard not allowed in label value match"},
		{"invalid name", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			o.SetName("Edge_JWT")
		}, "metadata.name: Invalid value"},
		{"pluginConfig field misspelt", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["jwks_uri"] = r["jwksUri"] })
		}, "config: jwtRules[0].jwks_uri:"},
		{"pluginConfig without key source", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { delete(r, "jwksUri") })
		}, "config: jwtRules[0].jwksUri:"},
		{"pluginConfig HMAC", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["algorithms"] = []any{"HS256"} })
		}, "config: jwtRules[0].algorithms[0]:"},
		{"pluginConfig duration", "wasmplugin.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["timeout"] = int64(5) })
		}, "config: jwtRules[0].timeout:"},
		{"ServiceEntry port 0", "serviceentry.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
			ports[0].(map[string]any)["number"] = int64(0)
			set(t, o, ports, "spec", "ports")
		}, "spec.ports[0].number"},
		{"ServiceEntry resolution", "serviceentry.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "DNS_ROUND_ROBINS", "spec", "resolution")
		}, `spec.resolution: Unsupported value: "DNS_ROUND_ROBINS"`},
		{"DestinationRule TLS mode", "destinationrule.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			pls, _, _ := unstructured.NestedSlice(o.Object, "spec", "trafficPolicy", "portLevelSettings")
			pls[0].(map[string]any)["tls"].(map[string]any)["mode"] = "TLS"
			set(t, o, pls, "spec", "trafficPolicy", "portLevelSettings")
		}, `spec.trafficPolicy.portLevelSettings[0].tls.mode: Unsupported value: "TLS"`},
		{"DestinationRule unknown tls field", "destinationrule.yaml", func(t *testing.T, o *unstructured.Unstructured) {
			pls, _, _ := unstructured.NestedSlice(o.Object, "spec", "trafficPolicy", "portLevelSettings")
			pls[0].(map[string]any)["tls"].(map[string]any)["serverName"] = "issuer.example"
			set(t, o, pls, "spec", "trafficPolicy", "portLevelSettings")
		}, "spec.trafficPolicy.portLevelSettings[0].tls.serverName: Invalid value: \"\": unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := firstObject(t, tc.file)
			tc.mutate(t, obj)
			_, _, err := checkObject(crds, obj)
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestPluginConfigThroughIstio: pluginConfig reaches the filter as istiod
// writes it (a Struct, so every number a double, marshalled by jsonpb).
// Integer options must survive that, and a duplicate JSON key cannot be
// written in YAML to begin with.
func TestPluginConfigThroughIstio(t *testing.T) {
	crds := loadCRDs(t)
	obj := firstObject(t, "wasmplugin.yaml")
	set(t, obj, int64(1000000), "spec", "pluginConfig", "maxPendingRequests")
	set(t, obj, int64(16384), "spec", "pluginConfig", "maxTokenSize")
	set(t, obj, "750ms", "spec", "pluginConfig", "pendingRequestTimeout")
	_, cfg, err := checkObject(crds, obj)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPendingRequests != 1000000 || cfg.MaxTokenSize != 16384 || cfg.PendingRequestTimeout.String() != "750ms" {
		t.Errorf("parsed maxPendingRequests %d maxTokenSize %d pendingRequestTimeout %s", cfg.MaxPendingRequests, cfg.MaxTokenSize, cfg.PendingRequestTimeout)
	}
	// As the filter receives them: one line, keys sorted, the integers
	// (doubles in the Struct) written as integers.
	msg, err := decodeSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	js, err := pluginConfiguration(msg.(*extensionsv1alpha1.WasmPlugin))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"jwtRules":[`, `"maxPendingRequests":1000000,"maxTokenSize":16384,"pendingRequestTimeout":"750ms","realm":`} {
		if !strings.Contains(js, want) {
			t.Errorf("configuration %s\nwant it to contain %s", js, want)
		}
	}
	if _, err := splitYAML([]byte("spec:\n  pluginConfig:\n    realm: a\n    realm: b\n")); err == nil {
		t.Error("a duplicate key was accepted")
	}
}

// yamlBlock finds fenced yaml code blocks in Markdown.
var yamlBlock = regexp.MustCompile("(?ms)^```ya?ml\\s*\\n(.*?)^```")

// TestDocumentedManifestsValid validates the Istio objects shown in the
// README, in the manual, and the Istio policy docs/authorization.md compares
// with its own, exactly as the manifests: snippets must work when pasted.
func TestDocumentedManifestsValid(t *testing.T) {
	crds := loadCRDs(t)
	checked := 0
	for _, doc := range []string{"../../README.md", "../../docs/deploy-istio.md", "../../docs/authorization.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range yamlBlock.FindAllSubmatch(b, -1) {
			if !regexp.MustCompile(`(?m)^apiVersion: \S*istio\.io/`).Match(m[1]) {
				continue
			}
			for _, obj := range readObjects(t, doc, m[1]) {
				checked++
				if _, _, err := checkObject(crds, obj); err != nil {
					t.Errorf("%s: %s %s/%s: %v", doc, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
				}
			}
		}
	}
	t.Logf("%d documented Istio objects checked", checked)
	if checked < 7 {
		t.Errorf("only %d Istio objects found in the README, docs/deploy-istio.md and docs/authorization.md: the snippets went missing", checked)
	}
}

// TestFitOIDCDiscovery: with oidcDiscovery the discovery document is fetched
// from the issuer's host, which then needs the ServiceEntry (and TLS).
func TestFitOIDCDiscovery(t *testing.T) {
	crds := loadCRDs(t)
	for _, tc := range []struct {
		issuer, wantErr string
	}{
		{"https://issuer.example", ""},
		{"https://login.example/tenant", "no ServiceEntry visible in istio-system with host login.example and port 443"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			objs := allObjects(t)
			for _, o := range objs {
				if o.GetKind() == "WasmPlugin" {
					editRule(t, o, func(r map[string]any) {
						delete(r, "jwksUri")
						r["issuer"] = tc.issuer
						r["oidcDiscovery"] = true
					})
				}
			}
			errs := fitErrors(loadPlaced(t, crds, objs))
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Fatalf("errors %q", errs)
			case tc.wantErr != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.wantErr) }):
				t.Fatalf("errors %q\nwant one containing %q", errs, tc.wantErr)
			}
		})
	}
}
