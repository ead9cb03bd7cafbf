//go:build istiocheck

package istiod

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	envoycluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	envoycore "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"istio.io/istio/pkg/util/sets"
	"istio.io/istio/pkg/wasm"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
	"github.com/edgejwt/edgejwt/platform/internal/imagetest"
)

// readyTimeout bounds Envoy's start: V8 compiles each multi-megabyte module
// on the main thread before the listeners come up, about 4 s on an idle
// machine but ten times that on a loaded one.
const readyTimeout = 3 * time.Minute

// The environment make istio-check sets besides the images (imagetest).
const (
	envEnvoy     = "ENVOY_PATH"
	envCrashWasm = "EDGEJWT_CRASHTEST_WASM" // build/edgejwt-crashtest.wasm
)

// fixture is what every test here starts from: the two images make oci
// wrote in a registry (edgejwt:v0.1.0, the default build, and
// edgejwt:v0.1.0-rsa), an agent's module cache, the issuer the plugin's
// configuration names (https://issuer.example, served on 127.0.0.1 as the
// cluster outbound|443||issuer.example) and an upstream.
type fixture struct {
	registry *imagetest.Registry
	cache    *wasm.LocalFileCache
	wasm     []byte // the default build
	rsa      imagetest.Image
	issuer   *devservers.Issuer
	echo     *devservers.Echo
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	def, err := imagetest.LoadFromEnv(imagetest.EnvLayout, imagetest.EnvWasm)
	if err != nil {
		t.Fatalf("%v (run make istio-check)", err)
	}
	rsa, err := imagetest.LoadFromEnv(imagetest.EnvLayoutRSA, imagetest.EnvWasmRSA)
	if err != nil {
		t.Fatalf("%v (run make istio-check)", err)
	}
	reg := imagetest.StartRegistry()
	t.Cleanup(reg.Close)
	for tag, img := range map[string]imagetest.Image{"v0.1.0": def, "v0.1.0-rsa": rsa} {
		if err := reg.Push("edgejwt", tag, img.Image); err != nil {
			t.Fatal(err)
		}
	}
	cache := wasm.NewLocalFileCache(t.TempDir(), wasm.Options{InsecureRegistries: sets.New(reg.Host)})
	t.Cleanup(cache.Cleanup)
	iss, err := devservers.StartIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	iss.Name = pluginIssuer
	echo, err := devservers.StartEcho(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(echo.Close)
	return &fixture{registry: reg, cache: cache, wasm: def.Wasm, rsa: rsa, issuer: iss, echo: echo}
}

// deployed is one plugin as Envoy gets it in Istio: the entry istiod wrote
// in the gateway's filter chain, and the extension configuration the agent
// handed on (a Wasm filter, or the RBAC filter put in its place).
type deployed struct {
	entry    *hcm.HttpFilter
	resource *envoycore.TypedExtensionConfig
}

// deploy generates the gateway's configuration for the plugins (edited
// copies of wasmplugin.yaml) with deploy/istio/'s ServiceEntry and
// DestinationRule, and returns each plugin's filter as the agent converts it.
func deploy(t *testing.T, f *fixture, plugins ...map[string]any) []deployed {
	t.Helper()
	objs := append(append([]map[string]any{}, plugins...), readObject(t, "serviceentry.yaml"), readObject(t, "destinationrule.yaml"))
	g := generate(t, render(t, append(objs, gatewayObjects(t, string(f.issuer.JWKS()))...)...))
	filters := g.gatewayHTTPFilters(t)
	var out []deployed
	for _, p := range plugins {
		name := g.ecdsName(t, p["metadata"].(map[string]any)["name"].(string))
		var entry *hcm.HttpFilter
		for _, hf := range filters {
			if hf.GetName() == name {
				entry = hf
			}
		}
		if entry == nil {
			t.Fatalf("no filter %s in the gateway's chain %q", name, filterNames(filters))
		}
		out = append(out, deployed{entry: entry, resource: convert(t, f.cache, g.extensionConfigs(t, name))[0]})
	}
	return out
}

// renamed edits a plugin object's name.
func renamed(obj map[string]any, name string) {
	obj["metadata"].(map[string]any)["name"] = name
}

// proxy is one Envoy running the deployed plugins, each first in the HTTP
// filters of a listener of its own (as in the gateway's chain, where only
// the metadata exchange may come before it), then the router to the echo
// upstream. The plugin's entry is istiod's, its config source changed from
// istiod's ADS stream to a file holding the agent's ECDS resource.
type proxy struct {
	envoy     *envoyproc.Envoy
	log       *envoyproc.LogBuffer
	admin     string
	listeners []string // base URLs, one per plugin
	ecds      []string // the ECDS file of each plugin
	client    *http.Client
}

// writeECDS writes the ECDS file of plugin i: one TypedExtensionConfig, as
// a DiscoveryResponse of the given version. Envoy watches the file's
// directory for a file moved over it, as an update.
func (p *proxy) writeECDS(t *testing.T, i int, resource *envoycore.TypedExtensionConfig, version string) {
	t.Helper()
	resp := &discoveryv3.DiscoveryResponse{
		VersionInfo: version,
		TypeUrl:     "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
		Resources:   []*anypb.Any{mustAny(t, resource)},
	}
	b, err := protojson.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p.ecds[i] + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.ecds[i]); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) uint32 {
	t.Helper()
	p, err := devservers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return uint32(p)
}

func socket(port uint32) *envoycore.Address {
	return &envoycore.Address{Address: &envoycore.Address_SocketAddress{SocketAddress: &envoycore.SocketAddress{
		Address: "127.0.0.1", PortSpecifier: &envoycore.SocketAddress_PortValue{PortValue: port},
	}}}
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func staticCluster(name string, port int) *envoycluster.Cluster {
	return &envoycluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &envoycluster.Cluster_Type{Type: envoycluster.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(2 * time.Second),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socket(uint32(port))}},
			}}}},
		},
	}
}

// startProxy writes the bootstrap and the ECDS files and starts Envoy with
// concurrency workers. The JWKS cluster keeps Istio's name but reaches the
// test issuer over plain HTTP on 127.0.0.1 (in a mesh it is TLS to
// issuer.example:443: the JWKS cluster subtest checks what istiod builds).
func startProxy(t *testing.T, f *fixture, concurrency int, plugins ...deployed) *proxy {
	t.Helper()
	envoyPath := os.Getenv(envEnvoy)
	if envoyPath == "" {
		t.Fatalf("%s is not set (run make istio-check)", envEnvoy)
	}
	dir := t.TempDir()
	adminPort := freePort(t)
	p := &proxy{log: &envoyproc.LogBuffer{}, admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	bs := &bootstrapv3.Bootstrap{
		// A file-based subscription (the ECDS files) wants the node named.
		Node:  &envoycore.Node{Id: "istio-check", Cluster: "istio-check"},
		Admin: &bootstrapv3.Admin{Address: socket(adminPort)},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{Clusters: []*envoycluster.Cluster{
			staticCluster("upstream", f.echo.Port()),
			staticCluster(jwksCluster, f.issuer.Port()),
		}},
	}
	router := &hcm.HttpFilter{Name: routerFilter, ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &routerv3.Router{})}}
	for i, d := range plugins {
		ecds := filepath.Join(dir, fmt.Sprintf("ecds-%d.json", i))
		p.ecds = append(p.ecds, ecds)
		p.writeECDS(t, i, d.resource, "1")
		entry := proto.Clone(d.entry).(*hcm.HttpFilter)
		src := entry.GetConfigDiscovery().GetConfigSource()
		if src.GetAds() == nil {
			t.Fatalf("istiod's entry %s does not ask ADS for its configuration: %v", entry.GetName(), entry)
		}
		src.ConfigSourceSpecifier = &envoycore.ConfigSource_PathConfigSource{PathConfigSource: &envoycore.PathConfigSource{Path: ecds}}
		port := freePort(t)
		p.listeners = append(p.listeners, fmt.Sprintf("http://127.0.0.1:%d", port))
		m := &hcm.HttpConnectionManager{
			StatPrefix: fmt.Sprintf("edge%d", i),
			RouteSpecifier: &hcm.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
				VirtualHosts: []*routev3.VirtualHost{{Name: "all", Domains: []string{"*"}, Routes: []*routev3.Route{{
					Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "upstream"}}},
				}}}},
			}},
			HttpFilters: []*hcm.HttpFilter{entry, router},
		}
		bs.StaticResources.Listeners = append(bs.StaticResources.Listeners, &listenerv3.Listener{
			Name:    fmt.Sprintf("edge%d", i),
			Address: socket(port),
			FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, m)},
			}}}},
		})
	}
	cfg, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	e, err := envoyproc.Start(envoyproc.Options{
		EnvoyPath:         envoyPath,
		Config:            string(cfg),
		AdminURL:          p.admin,
		Concurrency:       concurrency,
		DisableHotRestart: true,
		Log:               p.log,
		Dir:               filepath.Join(dir, "envoy"),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.envoy = e
	t.Cleanup(func() {
		_ = e.Stop()
		if t.Failed() {
			t.Logf("Envoy's configuration:\n%s\nEnvoy's log:\n%s", cfg, p.log.String())
		}
	})
	if err := e.AwaitLive(readyTimeout); err != nil {
		t.Fatalf("Envoy: %v", err)
	}
	p.awaitListeners(t, readyTimeout)
	return p
}

// awaitListeners waits until Envoy has every listener bound: a listener
// whose filter waits for its ECDS configuration is not.
func (p *proxy) awaitListeners(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		body, _ := p.adminGet("/listeners")
		missing := ""
		for _, l := range p.listeners {
			if !strings.Contains(body, strings.TrimPrefix(l, "http://")) {
				missing = l
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener %s is not up after %v:\n%s", missing, timeout, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proxy) adminGet(path string) (string, error) {
	resp, err := p.client.Get(p.admin + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// answer is what a client got.
type answer struct {
	status int
	header http.Header
	body   string
	id     string // the X-Test-Id sent, to look the request up at the upstream
}

var requestIDs struct {
	sync.Mutex
	n int
}

// send sends GET /anything to a listener with the given headers, on a new
// connection.
func (p *proxy) send(t *testing.T, listener string, headers map[string]string) answer {
	t.Helper()
	requestIDs.Lock()
	requestIDs.n++
	id := "istiod-" + strconv.Itoa(requestIDs.n)
	requestIDs.Unlock()
	req, err := http.NewRequest(http.MethodGet, listener+"/anything", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(devservers.TestIDHeader, id)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), id: id}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// forwarded returns what the upstream received of a request.
func forwarded(f *fixture, a answer) []devservers.Request { return f.echo.ByTestID(a.id) }

func expectRefused(t *testing.T, f *fixture, a answer, status int, body string) {
	t.Helper()
	if a.status != status || !strings.Contains(a.body, body) {
		t.Errorf("%d %q, want %d with %q", a.status, a.body, status, body)
	}
	if n := len(forwarded(f, a)); n != 0 {
		t.Errorf("a refused request reached the upstream (%d times)", n)
	}
}

// expectAuthenticated: 200 from the upstream, which got the subject in
// x-jwt-sub (the plugin's outputClaimToHeaders) and not the token.
func expectAuthenticated(t *testing.T, f *fixture, a answer, sub string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%d %q, want 200 from the upstream", a.status, a.body)
	}
	got := forwarded(f, a)
	if len(got) != 1 {
		t.Fatalf("the upstream got the request %d times", len(got))
	}
	if v := got[0].Header.Get("X-Jwt-Sub"); v != sub {
		t.Errorf("upstream x-jwt-sub %q, want %q", v, sub)
	}
	if v := got[0].Header.Get("Authorization"); v != "" {
		t.Errorf("the upstream got the token: %q", v)
	}
}

// workerConnections reads the listener's connections per worker.
func (p *proxy) workerConnections(t *testing.T, listener string) map[string]int {
	t.Helper()
	body, err := p.adminGet("/stats?filter=" + strings.ReplaceAll(strings.TrimPrefix(listener, "http://"), ":", "_") + `\.worker_`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ": ")
		if !ok || !strings.HasSuffix(name, ".downstream_cx_total") {
			continue
		}
		n, _ := strconv.Atoi(value)
		parts := strings.Split(name, ".")
		out[parts[len(parts)-2]] = n
	}
	return out
}

// TestGeneratedFilterServes: deploy/istio/ as istiod generates it and the
// agent converts it, in Envoy: a valid token passes with its claim header,
// no token and a forged token get 401 and never reach the upstream. A
// second WasmPlugin runs the RSA-only image with the same issuer; neither
// has a vm_id, so every VM of both modules, on both workers, shares one
// key set: the issuer is asked for its keys once.
func TestGeneratedFilterServes(t *testing.T) {
	f := newFixture(t)
	rsa := pluginObject(t, f.registry.Host, func(obj map[string]any) {
		renamed(obj, "edgejwt-rsa")
		spec(obj)["url"] = spec(obj)["url"].(string) + "-rsa"
		rule := spec(obj)["pluginConfig"].(map[string]any)["jwtRules"].([]any)[0].(map[string]any)
		rule["algorithms"] = []any{"RS256"} // the RSA-only build refuses ES256
	})
	plugins := deploy(t, f, pluginObject(t, f.registry.Host, nil), rsa)
	if got := wasmConfig(t, plugins[1].resource).GetVmConfig().GetCode().GetLocal().GetFilename(); got == "" {
		t.Fatal("the RSA plugin has no local module")
	} else if b, _ := os.ReadFile(got); !bytes.Equal(b, f.rsa.Wasm) {
		t.Fatal("the RSA plugin's module is not the RSA-only build")
	}
	p := startProxy(t, f, 2, plugins...)

	sub := "user-42"
	valid := f.issuer.MustMint(f.issuer.StandardClaims(sub, "api.example.com", time.Hour))
	forged := f.issuer.MustMint(f.issuer.StandardClaims(sub, "api.example.com", time.Hour), devservers.WithOutsiderKey())
	for i, l := range p.listeners {
		t.Run(wasmConfig(t, plugins[i].resource).GetName(), func(t *testing.T) {
			// Connections spread over both workers.
			for range 10 {
				expectAuthenticated(t, f, p.send(t, l, bearer(valid)), sub)
			}
			a := p.send(t, l, nil)
			expectRefused(t, f, a, http.StatusUnauthorized, `{"error":"No token provided"}`)
			if got := a.header.Get("WWW-Authenticate"); got != `Bearer realm="api.example.com"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			expectRefused(t, f, p.send(t, l, bearer(forged)), http.StatusUnauthorized, `"error":"Invalid token"`)
			workers := p.workerConnections(t, l)
			if len(workers) != 2 || workers["worker_0"] == 0 || workers["worker_1"] == 0 {
				t.Errorf("connections per worker %v: want both workers used", workers)
			}
		})
	}
	if n := f.issuer.Fetches(); n != 1 {
		t.Errorf("the issuer was asked for its keys %d times, want once for every VM of both plugins on both workers", n)
	}
}

// TestFailStrategyAfterVMCrash: what failStrategy means once the VM fails
// at run time, with the test-only build a request can crash (make
// build-crashtest). Istio turns FAIL_CLOSE into Envoy's FAIL_CLOSED: the
// crashed VM is never replaced, and every request on that worker gets 503
// until the plugin's configuration changes (the same one pushed again does
// not do) or the proxy restarts. FAIL_RELOAD fails closed as well, but
// Envoy makes a new VM at once and the filter decides again.
func TestFailStrategyAfterVMCrash(t *testing.T) {
	crashWasm := os.Getenv(envCrashWasm)
	if crashWasm == "" {
		t.Fatalf("%s is not set (run make istio-check)", envCrashWasm)
	}
	for _, tc := range []struct {
		strategy string
		reloaded bool
		observed time.Duration
	}{
		{"FAIL_CLOSE", false, 5 * time.Second},
		{"FAIL_RELOAD", true, 20 * time.Second},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			f := newFixture(t)
			plugin := pluginObject(t, f.registry.Host, func(obj map[string]any) {
				spec(obj)["url"] = "file://" + crashWasm
				spec(obj)["failStrategy"] = tc.strategy
			})
			plugins := deploy(t, f, plugin)
			checkAsDeployed(t, wasmConfig(t, plugins[0].resource), plugin)
			p := startProxy(t, f, 1, plugins...)
			l := p.listeners[0]
			valid := f.issuer.MustMint(f.issuer.StandardClaims("user-1", "api.example.com", time.Hour))
			expectAuthenticated(t, f, p.send(t, l, bearer(valid)), "user-1")

			crash := bearer(valid)
			crash["x-edgejwt-test-crash"] = "1"
			a := p.send(t, l, crash)
			if a.status < 500 {
				t.Fatalf("the request that crashed the VM got %d %q, want a 5xx", a.status, a.body)
			}
			if n := len(forwarded(f, a)); n != 0 {
				t.Fatal("the request that crashed the VM reached the upstream")
			}
			down, back := awaitDecision(t, f, p, l, valid, tc.observed)
			switch {
			case tc.reloaded && !back:
				t.Fatalf("the VM was not replaced within %v under %s", tc.observed, tc.strategy)
			case tc.reloaded:
				t.Logf("%s: the filter decides again after %d refused requests", tc.strategy, down)
				return
			case back:
				t.Fatalf("after %d refused requests, a request passed: the VM came back under %s", down, tc.strategy)
			}
			t.Logf("%s: every request for %v after the crash refused (%d)", tc.strategy, tc.observed, down)
			// Nothing tells the orchestrator: Envoy is still ready.
			if body, err := p.adminGet("/ready"); err != nil || strings.TrimSpace(body) != "LIVE" {
				t.Errorf("Envoy's /ready after the crash: %q %v", body, err)
			}

			// Under FAIL_CLOSE the VM comes back only with a configuration
			// that differs. The same one pushed again (what Envoy gets when
			// only the WasmPlugin's metadata changes: the agent strips the
			// resource version) leaves the plugin failed.
			p.writeECDS(t, 0, plugins[0].resource, "2")
			if down, back := awaitDecision(t, f, p, l, valid, tc.observed); back {
				t.Fatalf("the same configuration pushed again brought the VM back (after %d refused requests)", down)
			}
			// An edit of the plugin's spec is a new configuration: a new VM.
			edited := deploy(t, f, pluginObject(t, f.registry.Host, func(obj map[string]any) {
				spec(obj)["url"] = "file://" + crashWasm
				spec(obj)["failStrategy"] = tc.strategy
				spec(obj)["pluginConfig"].(map[string]any)["realm"] = "edited.example.com"
			}))
			p.writeECDS(t, 0, edited[0].resource, "3")
			down, back = awaitDecision(t, f, p, l, valid, readyTimeout)
			if !back {
				t.Fatalf("an edited configuration did not bring the VM back within %v", readyTimeout)
			}
			a = p.send(t, l, nil)
			expectRefused(t, f, a, http.StatusUnauthorized, `{"error":"No token provided"}`)
			if got := a.header.Get("WWW-Authenticate"); got != `Bearer realm="edited.example.com"` {
				t.Errorf("after the edit: WWW-Authenticate %q", got)
			}
			t.Logf("%s: an edited configuration brought the VM back after %d more refused requests", tc.strategy, down)
			// The new VM found the key set in shared data, which outlives VMs.
			if n := f.issuer.Fetches(); n != 1 {
				t.Errorf("the issuer was asked for its keys %d times, want once: the new VM did not adopt the key set", n)
			}
		})
	}
}

// awaitDecision sends a valid token until the filter lets it through
// (true) or for timeout (false), and checks that every request meanwhile
// got a 5xx and never reached the upstream. It returns how many did.
func awaitDecision(t *testing.T, f *fixture, p *proxy, l, token string, timeout time.Duration) (int, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	down := 0
	for time.Now().Before(deadline) {
		a := p.send(t, l, bearer(token))
		if a.status == http.StatusOK {
			if n := len(forwarded(f, a)); n != 1 {
				t.Fatalf("200 but the upstream got the request %d times", n)
			}
			return down, true
		}
		if a.status != http.StatusServiceUnavailable && a.status != http.StatusInternalServerError {
			t.Fatalf("while the VM was down: %d %q", a.status, a.body)
		}
		if n := len(forwarded(f, a)); n != 0 {
			t.Fatal("a request reached the upstream while the VM was down")
		}
		down++
		time.Sleep(100 * time.Millisecond)
	}
	return down, false
}

// TestUnfetchableModuleDeniesAll: when the agent cannot have the module
// (here a sha256 that is not the image's), it sends Envoy an RBAC filter in
// the plugin's place: deny-all, unless failStrategy is FAIL_OPEN, when it
// is allow-all and requests pass unauthenticated (deploy/istio/ never uses
// FAIL_OPEN; platform/istio refuses it).
func TestUnfetchableModuleDeniesAll(t *testing.T) {
	f := newFixture(t)
	wrongPin := func(strategy string) map[string]any {
		return pluginObject(t, f.registry.Host, func(obj map[string]any) {
			renamed(obj, "edgejwt-"+strings.ToLower(strings.ReplaceAll(strategy, "_", "-")))
			spec(obj)["sha256"] = strings.Repeat("0", 64)
			spec(obj)["failStrategy"] = strategy
		})
	}
	plugins := deploy(t, f, wrongPin("FAIL_CLOSE"), wrongPin("FAIL_RELOAD"), wrongPin("FAIL_OPEN"))
	for i, wantDeny := range []bool{true, true, false} {
		rb := &rbacv3.RBAC{}
		if err := plugins[i].resource.GetTypedConfig().UnmarshalTo(rb); err != nil {
			t.Fatalf("%s: the agent handed on a %s, not an RBAC filter", plugins[i].resource.GetName(), plugins[i].resource.GetTypedConfig().GetTypeUrl())
		}
		if deny := rb.GetRules() != nil && len(rb.GetRules().GetPolicies()) == 0; deny != wantDeny {
			t.Errorf("%s: RBAC %v, want deny-all %v", plugins[i].resource.GetName(), rb, wantDeny)
		}
	}
	p := startProxy(t, f, 1, plugins...)
	valid := f.issuer.MustMint(f.issuer.StandardClaims("user-1", "api.example.com", time.Hour))
	for i, l := range p.listeners[:2] {
		a := p.send(t, l, bearer(valid))
		expectRefused(t, f, a, http.StatusForbidden, "RBAC: access denied")
		t.Logf("%s: %d %q", plugins[i].resource.GetName(), a.status, a.body)
	}
	if a := p.send(t, p.listeners[2], nil); a.status != http.StatusOK || len(forwarded(f, a)) != 1 {
		t.Errorf("FAIL_OPEN without the module: %d %q, want the request passed unauthenticated", a.status, a.body)
	}
}
