package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

// TestEnvoyConfig renders every Envoy setup in both modes and checks what
// differs: the auth filter, the route, the clusters.
func TestEnvoyConfig(t *testing.T) {
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{issuer: iss, upstreamPort: 7001, wasmPath: "/w/edgejwt.wasm", wasmRSAPath: "/w/edgejwt-rsa.wasm", wasmNoopPath: "/w/noop.wasm"}
	specs, err := b.specs("a,b,b2,n,c,c2,r", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.applyExtras(specs, "", nil); err != nil {
		t.Fatal(err)
	}
	type doc struct {
		StaticResources struct {
			Listeners []struct {
				FilterChains []struct {
					Filters []struct {
						TypedConfig struct {
							RouteConfig struct {
								VirtualHosts []struct {
									Routes []map[string]any `yaml:"routes"`
								} `yaml:"virtual_hosts"`
							} `yaml:"route_config"`
							HTTPFilters []struct {
								Name        string         `yaml:"name"`
								TypedConfig map[string]any `yaml:"typed_config"`
							} `yaml:"http_filters"`
						} `yaml:"typed_config"`
					} `yaml:"filters"`
				} `yaml:"filter_chains"`
			} `yaml:"listeners"`
			Clusters []struct {
				Name string `yaml:"name"`
			} `yaml:"clusters"`
		} `yaml:"static_resources"`
	}
	for _, sp := range specs {
		for _, mode := range []string{modeGo, modeDirect} {
			cfg := b.envoyConfig(sp, mode, 9000, 9001)
			s, err := cfg.Render()
			if err != nil {
				t.Fatalf("%s %s: %v", sp.ID, mode, err)
			}
			var d doc
			if err := yaml.Unmarshal([]byte(s), &d); err != nil {
				t.Fatalf("%s %s: %v\n%s", sp.ID, mode, err, s)
			}
			hcm := d.StaticResources.Listeners[0].FilterChains[0].Filters[0].TypedConfig
			var names []string
			for _, f := range hcm.HTTPFilters {
				names = append(names, f.Name)
			}
			want := map[string]string{
				kindNoAuth: "envoy.filters.http.router", kindJwtAuthn: "envoy.filters.http.jwt_authn,envoy.filters.http.router",
				kindNoop: "envoy.filters.http.wasm,envoy.filters.http.router", kindEdgejwt: "envoy.filters.http.wasm,envoy.filters.http.router",
			}[sp.Kind]
			if got := strings.Join(names, ","); got != want {
				t.Errorf("%s %s: filters %s, want %s", sp.ID, mode, got, want)
			}
			if sp.isWasm() {
				c := hcm.HTTPFilters[0].TypedConfig["config"].(map[string]any)
				vm := c["vm_config"].(map[string]any)
				file := vm["code"].(map[string]any)["local"].(map[string]any)["filename"]
				if file != b.modulePath(sp) {
					t.Errorf("%s: module %v", sp.ID, file)
				}
				conf, hasConf := c["configuration"].(map[string]any)
				if sp.Kind == kindNoop && hasConf {
					t.Errorf("n has a configuration: %v", conf)
				}
				if sp.Kind == kindEdgejwt && (!hasConf || conf["value"] != sp.FilterConfig) {
					t.Errorf("%s: configuration %v", sp.ID, conf)
				}
			}
			if sp.Kind == kindJwtAuthn {
				p := hcm.HTTPFilters[0].TypedConfig["providers"].(map[string]any)["bench"].(map[string]any)
				if _, cache := p["jwt_cache_config"]; cache != sp.JwtCache {
					t.Errorf("%s: jwt_cache_config present %v", sp.ID, cache)
				}
			}
			route := hcm.RouteConfig.VirtualHosts[0].Routes[0]
			var clusters []string
			for _, c := range d.StaticResources.Clusters {
				clusters = append(clusters, c.Name)
			}
			switch mode {
			case modeGo:
				if _, ok := route["route"]; !ok || strings.Join(clusters, ",") != upstreamCluster+","+jwksCluster {
					t.Errorf("%s go: route %v, clusters %v", sp.ID, route, clusters)
				}
			case modeDirect:
				dr, ok := route["direct_response"].(map[string]any)
				if !ok || dr["status"] != 200 || strings.Join(clusters, ",") != jwksCluster {
					t.Errorf("%s direct: route %v, clusters %v", sp.ID, route, clusters)
				}
			}
		}
	}
}

// TestMemoryReleaseAsShipped: the bench's Envoys return free memory as the
// repository's envoy.yaml does, so that the footprint is what users get.
func TestMemoryReleaseAsShipped(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MAM struct {
			Bytes    int64  `yaml:"bytes_to_release"`
			Interval string `yaml:"memory_release_interval"`
		} `yaml:"memory_allocator_manager"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := envoyproc.ShippedMemoryRelease
	if doc.MAM.Bytes != want.Bytes || doc.MAM.Interval != strconv.FormatFloat(want.Interval.Seconds(), 'f', -1, 64)+"s" {
		t.Errorf("envoy.yaml memory_allocator_manager %+v, envoyproc.ShippedMemoryRelease %+v", doc.MAM, want)
	}
}
