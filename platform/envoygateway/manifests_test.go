package envoygateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/platform/internal/crdcheck"
)

// envoyGateway is the Envoy Gateway release whose published CRDs the
// manifests are checked against: the one place it is pinned (it is not in
// platform/go.mod, whose versions it would raise under Istio's code; the go
// command downloads it, checked against the checksum database).
// docs/deploy-envoy-gateway.md names it.
const envoyGateway = "github.com/envoyproxy/gateway@v1.9.1"

// Files of that module: the CRDs its Helm chart installs, Envoy Gateway's own
// and the Gateway API's (experimental channel, of the bundle-version named in
// the file).
const (
	egCRDGlob      = "charts/gateway-helm/charts/crds/crds/generated/*.yaml"
	egGatewayAPI   = "charts/gateway-helm/charts/crds/crds/gatewayapi-crds.yaml"
	gatewayAPIMod  = "sigs.k8s.io/gateway-api"
	standardCRDDir = "config/crd/standard"
)

// The manifests checked: deploy/envoy-gateway/ of the repository.
const manifestDir = "../../deploy/envoy-gateway"

// download fetches module@version into the module cache, without adding it
// to go.mod, and returns its directory.
func download(modVersion string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", modVersion).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%w: %s%s", err, ee.Stderr, out)
		}
		return "", fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", modVersion, m.Error)
	}
	return m.Dir, nil
}

// crdSets are the CRDs checked against: chart, what Envoy Gateway's chart
// installs (its CRDs and the Gateway API's experimental channel); standard,
// the Gateway API's standard channel of the same release, which clusters
// that install the Gateway API themselves often have.
type crdSets struct {
	chart, standard *crdcheck.Set
	gatewayAPI      string // the Gateway API release of the chart
}

var (
	crdsOnce sync.Once
	crds     crdSets
	crdsErr  error
)

func loadCRDs(t *testing.T) crdSets {
	t.Helper()
	crdsOnce.Do(func() { crds, crdsErr = readCRDs() })
	if crdsErr != nil {
		t.Fatalf("loading Envoy Gateway's CRDs: %v", crdsErr)
	}
	return crds
}

var bundleVersion = regexp.MustCompile(`gateway\.networking\.k8s\.io/bundle-version: (v\S+)`)

func readCRDs() (crdSets, error) {
	var s crdSets
	eg, err := download(envoyGateway)
	if err != nil {
		return s, err
	}
	files, err := filepath.Glob(filepath.Join(eg, egCRDGlob))
	if err != nil || len(files) == 0 {
		return s, fmt.Errorf("%s: no CRDs at %s (%v)", envoyGateway, egCRDGlob, err)
	}
	bundle := filepath.Join(eg, egGatewayAPI)
	b, err := os.ReadFile(bundle)
	if err != nil {
		return s, err
	}
	m := bundleVersion.FindSubmatch(b)
	if m == nil {
		return s, fmt.Errorf("%s: no gateway.networking.k8s.io/bundle-version", bundle)
	}
	s.gatewayAPI = string(m[1])
	if s.chart, err = crdcheck.Load(append(files, bundle)...); err != nil {
		return s, err
	}
	gw, err := download(gatewayAPIMod + "@" + s.gatewayAPI)
	if err != nil {
		return s, err
	}
	std, err := filepath.Glob(filepath.Join(gw, standardCRDDir, "*.yaml"))
	if err != nil || len(std) == 0 {
		return s, fmt.Errorf("%s@%s: no standard CRDs (%v)", gatewayAPIMod, s.gatewayAPI, err)
	}
	s.standard, err = crdcheck.Load(std...)
	return s, err
}

// readObjects reads every object of the manifests of deploy/envoy-gateway/.
func readObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", manifestDir, err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o, err := crdcheck.ReadObjects(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		objs = append(objs, o...)
	}
	return objs
}

// checkObject validates one object against the CRDs (Gateway API objects
// against both channels) and an EnvoyExtensionPolicy's Wasm configurations
// with the filter's config.Parse. It returns the parsed configurations.
func checkObject(s crdSets, obj *unstructured.Unstructured) ([]*config.Config, error) {
	if errs := s.chart.Validate(obj); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if obj.GroupVersionKind().Group == "gateway.networking.k8s.io" {
		if errs := s.standard.Validate(obj); len(errs) > 0 {
			return nil, fmt.Errorf("Gateway API standard channel %s: %w", s.gatewayAPI, errs.ToAggregate())
		}
	}
	if obj.GetKind() != "EnvoyExtensionPolicy" {
		return nil, nil
	}
	wasms, _, _ := unstructured.NestedSlice(obj.Object, "spec", "wasm")
	var cfgs []*config.Config
	for i, w := range wasms {
		// Envoy Gateway hands the filter spec.wasm[].config as JSON.
		js, err := json.Marshal(w.(map[string]any)["config"])
		if err != nil {
			return nil, err
		}
		cfg, err := config.Parse(js)
		if err != nil {
			return nil, fmt.Errorf("spec.wasm[%d].config refused by config.Parse: %w\nconfiguration: %s", i, err, js)
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// TestManifestsValid validates every manifest of deploy/envoy-gateway/
// against Envoy Gateway's published CRDs, and the filter's configuration
// with config.Parse.
func TestManifestsValid(t *testing.T) {
	s := loadCRDs(t)
	t.Logf("%s: %d served kinds and versions (Gateway API %s); standard channel: %d", envoyGateway, s.chart.Len(), s.gatewayAPI, s.standard.Len())
	kinds := map[string]bool{}
	for _, obj := range readObjects(t) {
		kinds[obj.GetKind()] = true
		if _, err := checkObject(s, obj); err != nil {
			t.Errorf("%s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	for _, k := range []string{"EnvoyExtensionPolicy", "EnvoyProxy", "Gateway"} {
		if !kinds[k] {
			t.Errorf("no %s in %s", k, manifestDir)
		}
	}
}

// cluster is what the filter needs of an Envoy cluster of the bootstrap.
type cluster struct {
	host string
	port int
	sni  string // of its TLS transport socket; "" without one
	tls  bool
}

// bootstrapClusters reads the static clusters an EnvoyProxy merges into
// its proxies' bootstrap (spec.bootstrap, type Merge).
func bootstrapClusters(ep *unstructured.Unstructured) (map[string]cluster, error) {
	typ, _, _ := unstructured.NestedString(ep.Object, "spec", "bootstrap", "type")
	value, _, _ := unstructured.NestedString(ep.Object, "spec", "bootstrap", "value")
	if typ != "Merge" || value == "" {
		return nil, fmt.Errorf("EnvoyProxy %s/%s: spec.bootstrap is not a Merge with a value (type %q)", ep.GetNamespace(), ep.GetName(), typ)
	}
	var b struct {
		StaticResources struct {
			Clusters []struct {
				Name           string `json:"name"`
				LoadAssignment struct {
					Endpoints []struct {
						LbEndpoints []struct {
							Endpoint struct {
								Address struct {
									SocketAddress struct {
										Address   string `json:"address"`
										PortValue int    `json:"port_value"`
									} `json:"socket_address"`
								} `json:"address"`
							} `json:"endpoint"`
						} `json:"lb_endpoints"`
					} `json:"endpoints"`
				} `json:"load_assignment"`
				TransportSocket *struct {
					Name        string `json:"name"`
					TypedConfig struct {
						Sni string `json:"sni"`
					} `json:"typed_config"`
				} `json:"transport_socket"`
			} `json:"clusters"`
		} `json:"static_resources"`
	}
	if err := yaml.Unmarshal([]byte(value), &b); err != nil {
		return nil, fmt.Errorf("EnvoyProxy %s/%s: spec.bootstrap.value: %w", ep.GetNamespace(), ep.GetName(), err)
	}
	out := map[string]cluster{}
	for _, c := range b.StaticResources.Clusters {
		var cl cluster
		for _, e := range c.LoadAssignment.Endpoints {
			for _, le := range e.LbEndpoints {
				sa := le.Endpoint.Address.SocketAddress
				cl.host, cl.port = sa.Address, sa.PortValue
			}
		}
		if ts := c.TransportSocket; ts != nil && ts.Name == "envoy.transport_sockets.tls" {
			cl.tls, cl.sni = true, ts.TypedConfig.Sni
		}
		out[c.Name] = cl
	}
	return out, nil
}

var pinnedImage = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// find returns the object of kind and name in namespace, or nil.
func find(objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}

// fitErrors checks what no schema does: that each EnvoyExtensionPolicy
// targets a Gateway of the folder, runs an image pinned by digest and fails
// closed, and that every JWKS its configuration fetches goes through a
// cluster the Gateway's EnvoyProxy adds to the bootstrap, to the URI's host
// and port, with TLS for https.
func fitErrors(s crdSets, objs []*unstructured.Unstructured) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	policies := 0
	for _, p := range objs {
		if p.GetKind() != "EnvoyExtensionPolicy" {
			continue
		}
		policies++
		cfgs, err := checkObject(s, p)
		if err != nil {
			fail("EnvoyExtensionPolicy %s/%s: %v", p.GetNamespace(), p.GetName(), err)
			continue
		}
		// The clusters of the targeted Gateways' proxies.
		clusters := map[string]cluster{}
		refs, _, _ := unstructured.NestedSlice(p.Object, "spec", "targetRefs")
		if len(refs) == 0 {
			fail("EnvoyExtensionPolicy %s/%s has no targetRefs", p.GetNamespace(), p.GetName())
		}
		for _, r := range refs {
			ref := r.(map[string]any)
			if ref["kind"] != "Gateway" {
				fail("targetRefs: %v: the manifests target a Gateway", ref)
				continue
			}
			gw := find(objs, "Gateway", p.GetNamespace(), ref["name"].(string))
			if gw == nil {
				fail("targetRefs: no Gateway %s/%s in %s", p.GetNamespace(), ref["name"], manifestDir)
				continue
			}
			pr, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "infrastructure", "parametersRef")
			if pr["group"] != "gateway.envoyproxy.io" || pr["kind"] != "EnvoyProxy" {
				fail("Gateway %s/%s references no EnvoyProxy (spec.infrastructure.parametersRef %v): its proxies have no JWKS cluster", gw.GetNamespace(), gw.GetName(), pr)
				continue
			}
			ep := find(objs, "EnvoyProxy", gw.GetNamespace(), pr["name"])
			if ep == nil {
				fail("Gateway %s/%s: no EnvoyProxy %s/%s in %s", gw.GetNamespace(), gw.GetName(), gw.GetNamespace(), pr["name"], manifestDir)
				continue
			}
			cs, err := bootstrapClusters(ep)
			if err != nil {
				fail("%v", err)
			}
			for n, c := range cs {
				clusters[n] = c
			}
		}
		wasms, _, _ := unstructured.NestedSlice(p.Object, "spec", "wasm")
		for i, w := range wasms {
			wm := w.(map[string]any)
			img, _, _ := unstructured.NestedString(wm, "code", "image", "url")
			sha, _, _ := unstructured.NestedString(wm, "code", "image", "sha256")
			if !pinnedImage.MatchString(img) && !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sha) {
				fail("spec.wasm[%d].code.image.url %q is not pinned by digest (@sha256:<hex>, or sha256: <hex> beside a tag)", i, img)
			}
			if open, _, _ := unstructured.NestedBool(wm, "failOpen"); open {
				fail("spec.wasm[%d].failOpen: true lets requests through when the module fails", i)
			}
			for j, r := range cfgs[i].Rules {
				uri := r.JWKSURI
				if r.OIDCDiscovery {
					uri = strings.TrimSuffix(r.Issuer, "/") + "/.well-known/openid-configuration"
				}
				if uri == "" {
					continue
				}
				if msg := clusterGap(clusters, uri, r.JWKSCluster); msg != "" {
					fail("spec.wasm[%d] jwtRules[%d] (%s): %s", i, j, uri, msg)
				}
			}
		}
	}
	if policies == 0 {
		fail("no EnvoyExtensionPolicy")
	}
	return errs
}

// clusterGap says what is wrong with fetching uri through name ("" when
// nothing is).
func clusterGap(clusters map[string]cluster, uri, name string) string {
	if name == "" || name == config.IstioClusterName(uri) {
		return fmt.Sprintf("jwksCluster %q (the default, Istio's cluster name) is no cluster of Envoy Gateway: name the EnvoyProxy's bootstrap cluster", name)
	}
	c, ok := clusters[name]
	if !ok {
		return fmt.Sprintf("jwksCluster %q is no cluster of the targeted Gateway's EnvoyProxy bootstrap", name)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return err.Error()
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	switch {
	case c.host != u.Hostname() || c.port != port:
		return fmt.Sprintf("cluster %s reaches %s:%d, the URI %s:%d", name, c.host, c.port, u.Hostname(), port)
	case u.Scheme == "https" && (!c.tls || c.sni != u.Hostname()):
		return fmt.Sprintf("cluster %s: TLS %v with SNI %q, want TLS with SNI %s for an https URI", name, c.tls, c.sni, u.Hostname())
	case u.Scheme == "http" && c.tls:
		return fmt.Sprintf("cluster %s speaks TLS for an http URI", name)
	}
	return ""
}

func TestManifestsFitTogether(t *testing.T) {
	if errs := fitErrors(loadCRDs(t), readObjects(t)); len(errs) > 0 {
		t.Error(strings.Join(errs, "\n"))
	}
}

func set(t *testing.T, obj *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(obj.Object, runtime.DeepCopyJSONValue(value), path...); err != nil {
		t.Fatal(err)
	}
}

func del(obj *unstructured.Unstructured, path ...string) {
	unstructured.RemoveNestedField(obj.Object, path...)
}

// editWasm changes spec.wasm[0] of the EnvoyExtensionPolicy.
func editWasm(t *testing.T, o *unstructured.Unstructured, edit func(w map[string]any)) {
	t.Helper()
	wasms, _, _ := unstructured.NestedSlice(o.Object, "spec", "wasm") // a copy
	edit(wasms[0].(map[string]any))
	set(t, o, wasms, "spec", "wasm")
}

// editRule changes jwtRules[0] of the policy's configuration.
func editRule(t *testing.T, o *unstructured.Unstructured, edit func(r map[string]any)) {
	t.Helper()
	editWasm(t, o, func(w map[string]any) {
		edit(w["config"].(map[string]any)["jwtRules"].([]any)[0].(map[string]any))
	})
}

// editBootstrap rewrites the EnvoyProxy's bootstrap value.
func editBootstrap(t *testing.T, o *unstructured.Unstructured, from, to string) {
	t.Helper()
	v, _, _ := unstructured.NestedString(o.Object, "spec", "bootstrap", "value")
	if !strings.Contains(v, from) {
		t.Fatalf("bootstrap value has no %q", from)
	}
	set(t, o, strings.Replace(v, from, to, 1), "spec", "bootstrap", "value")
}

// edited returns the manifests' objects with edit applied to each object of
// kind.
func edited(t *testing.T, kind string, edit func(t *testing.T, o *unstructured.Unstructured)) []*unstructured.Unstructured {
	t.Helper()
	objs := readObjects(t)
	for _, o := range objs {
		if o.GetKind() == kind {
			edit(t, o)
		}
	}
	return objs
}

// TestFitRefusesGaps: the cross-checks of fitErrors catch each way the
// manifests could stop fitting together.
func TestFitRefusesGaps(t *testing.T) {
	s := loadCRDs(t)
	for _, tc := range []struct {
		name, kind string
		edit       func(t *testing.T, o *unstructured.Unstructured)
		wantErr    string
	}{
		{"jwksCluster left to its default", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { delete(r, "jwksCluster") })
		}, `jwksCluster "outbound|443||issuer.example" (the default, Istio's cluster name) is no cluster of Envoy Gateway`},
		{"jwksCluster not in the bootstrap", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["jwksCluster"] = "issuer_jwks" })
		}, `jwksCluster "issuer_jwks" is no cluster`},
		{"image by tag", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editWasm(t, o, func(w map[string]any) {
				w["code"].(map[string]any)["image"].(map[string]any)["url"] = "registry.example.com/edgejwt:v0.1.0"
			})
		}, "is not pinned by digest"},
		{"fail open", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editWasm(t, o, func(w map[string]any) { w["failOpen"] = true })
		}, "failOpen: true"},
		{"another Gateway", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			refs, _, _ := unstructured.NestedSlice(o.Object, "spec", "targetRefs")
			refs[0].(map[string]any)["name"] = "other"
			set(t, o, refs, "spec", "targetRefs")
		}, "no Gateway default/other"},
		{"jwksUri on another host", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["jwksUri"] = "https://keys.issuer.example/jwks.json" })
		}, "cluster edgejwt_jwks_issuer_example reaches issuer.example:443, the URI keys.issuer.example:443"},
		{"Gateway without the EnvoyProxy", "Gateway", func(t *testing.T, o *unstructured.Unstructured) {
			del(o, "spec", "infrastructure")
		}, "references no EnvoyProxy"},
		{"cluster on another port", "EnvoyProxy", func(t *testing.T, o *unstructured.Unstructured) {
			editBootstrap(t, o, "port_value: 443", "port_value: 8443")
		}, "reaches issuer.example:8443"},
		{"cluster without TLS", "EnvoyProxy", func(t *testing.T, o *unstructured.Unstructured) {
			editBootstrap(t, o, "name: envoy.transport_sockets.tls", "name: envoy.transport_sockets.raw_buffer")
		}, "TLS false"},
		{"bootstrap replaced", "EnvoyProxy", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "Replace", "spec", "bootstrap", "type")
		}, "is not a Merge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := fitErrors(s, edited(t, tc.kind, tc.edit))
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.wantErr) }) {
				t.Fatalf("errors %q\nwant one containing %q", errs, tc.wantErr)
			}
		})
	}
}

// TestValidationRefusesMistakes shows that the validation is not vacuous:
// each mistake, made on a copy of a manifest, is refused by a CRD's schema,
// its CEL rules, or the filter's config.Parse.
func TestValidationRefusesMistakes(t *testing.T) {
	s := loadCRDs(t)
	for _, tc := range []struct {
		name, kind string
		edit       func(t *testing.T, o *unstructured.Unstructured)
		wantErr    string
	}{
		{"code type", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editWasm(t, o, func(w map[string]any) { w["code"].(map[string]any)["type"] = "OCI" })
		}, `Unsupported value: "OCI"`},
		{"Image without image", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editWasm(t, o, func(w map[string]any) { delete(w["code"].(map[string]any), "image") })
		}, "If type is Image, image field needs to be set"},
		{"unknown wasm field", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editWasm(t, o, func(w map[string]any) { w["failClosed"] = true })
		}, "spec.wasm[0].failClosed: Invalid value: \"\": unknown field"},
		{"target kind", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			refs, _, _ := unstructured.NestedSlice(o.Object, "spec", "targetRefs")
			refs[0].(map[string]any)["kind"] = "Service"
			set(t, o, refs, "spec", "targetRefs")
		}, "this policy can only have a targetRefs[*].kind of"},
		{"config field misspelt", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["jwks_uri"] = r["jwksUri"] })
		}, "config: jwtRules[0].jwks_uri:"},
		{"config algorithm", "EnvoyExtensionPolicy", func(t *testing.T, o *unstructured.Unstructured) {
			editRule(t, o, func(r map[string]any) { r["algorithms"] = []any{"HS256"} })
		}, "config: jwtRules[0].algorithms[0]:"},
		{"bootstrap type", "EnvoyProxy", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "Patch", "spec", "bootstrap", "type")
		}, `spec.bootstrap.type: Unsupported value: "Patch"`},
		{"Gateway without listeners", "Gateway", func(t *testing.T, o *unstructured.Unstructured) {
			del(o, "spec", "listeners")
		}, "spec.listeners: Required value"},
		{"parametersRef kind", "Gateway", func(t *testing.T, o *unstructured.Unstructured) {
			set(t, o, "Envoy Proxy", "spec", "infrastructure", "parametersRef", "kind")
		}, "spec.infrastructure.parametersRef.kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			for _, o := range edited(t, tc.kind, tc.edit) {
				if o.GetKind() == tc.kind {
					_, err = checkObject(s, o)
				}
			}
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// yamlBlock finds fenced yaml code blocks in Markdown.
var yamlBlock = regexp.MustCompile("(?ms)^```ya?ml\\s*\\n(.*?)^```")

// TestDocumentedManifestsValid validates the Envoy Gateway and Gateway API
// objects shown in docs/deploy-envoy-gateway.md as the manifests.
func TestDocumentedManifestsValid(t *testing.T) {
	s := loadCRDs(t)
	doc := "../../docs/deploy-envoy-gateway.md"
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range yamlBlock.FindAllSubmatch(b, -1) {
		if !regexp.MustCompile(`(?m)^apiVersion: gateway\.(envoyproxy\.io|networking\.k8s\.io)/`).Match(m[1]) {
			continue
		}
		objs, err := crdcheck.ReadObjects(m[1])
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		for _, obj := range objs {
			checked++
			if _, err := checkObject(s, obj); err != nil {
				t.Errorf("%s: %s %s/%s: %v", doc, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
			}
		}
	}
	t.Logf("%d documented objects checked", checked)
	if checked == 0 {
		t.Errorf("no object found in %s: the snippets went missing", doc)
	}
	if !strings.Contains(string(b), "`"+strings.Replace(envoyGateway, "@", " ", 1)+"`") {
		t.Errorf("%s does not name the Envoy Gateway release checked against, `%s`", doc, strings.Replace(envoyGateway, "@", " ", 1))
	}
}

// TestBootstrapClusterInEnvoy: Envoy itself takes the cluster the EnvoyProxy
// merges into the bootstrap (envoy --mode validate, which also reads the CA
// file), and refuses it with a mistake in it. It fails without ENVOY_PATH
// (make platform sets it), as the e2e suite does.
func TestBootstrapClusterInEnvoy(t *testing.T) {
	envoy := os.Getenv("ENVOY_PATH")
	if envoy == "" {
		t.Fatal("ENVOY_PATH is not set: run make platform")
	}
	var ep *unstructured.Unstructured
	for _, o := range readObjects(t) {
		if o.GetKind() == "EnvoyProxy" {
			ep = o
		}
	}
	if ep == nil {
		t.Fatal("no EnvoyProxy")
	}
	value, _, _ := unstructured.NestedString(ep.Object, "spec", "bootstrap", "value")
	// Envoy opens the CA file; where this machine has none at the proxy
	// image's path, a CA of the test's own stands in.
	const caPath = "/etc/ssl/certs/ca-certificates.crt"
	if !strings.Contains(value, caPath) {
		t.Fatalf("the cluster does not trust %s", caPath)
	}
	if _, err := os.Stat(caPath); err != nil {
		p := filepath.Join(t.TempDir(), "ca.crt")
		if err := os.WriteFile(p, testCA(t), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v; validating with a test CA in its place", caPath, err)
		value = strings.ReplaceAll(value, caPath, p)
	}
	validate := func(bootstrap string) (string, error) {
		p := filepath.Join(t.TempDir(), "bootstrap.yaml")
		if err := os.WriteFile(p, []byte(bootstrap), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(envoy, "--mode", "validate", "-c", p, "--log-level", "warn").CombinedOutput()
		return string(out), err
	}
	if out, err := validate(value); err != nil {
		t.Fatalf("Envoy refuses the EnvoyProxy's bootstrap cluster: %v\n%s", err, out)
	}
	broken := strings.Replace(value, "sni: issuer.example", "server_name: issuer.example", 1)
	if out, err := validate(broken); err == nil || !strings.Contains(out, "server_name") {
		t.Errorf("Envoy took a cluster with an unknown TLS field (err %v):\n%s", err, out)
	}
}

// testCA is a self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edgejwt test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
