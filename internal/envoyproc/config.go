package envoyproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is an Envoy configuration of static resources: the admin address,
// HTTP listeners (each an HTTP connection manager with its HTTP filters
// before the router, and its routes), and STATIC clusters. Render turns it
// into YAML. Addresses default to 127.0.0.1.
type Config struct {
	AdminAddress string
	AdminPort    int
	Listeners    []Listener
	Clusters     []Cluster
	// MemoryRelease, when set, has Envoy's allocator return free memory
	// to the system (memory_allocator_manager), as the repository's
	// envoy.yaml does.
	MemoryRelease *MemoryRelease
}

// MemoryRelease is Envoy's memory_allocator_manager: up to Bytes of free
// memory returned to the system every Interval.
type MemoryRelease struct {
	Bytes    int64
	Interval time.Duration
}

// ShippedMemoryRelease is envoy.yaml's memory_allocator_manager.
var ShippedMemoryRelease = &MemoryRelease{Bytes: 100 << 20, Interval: time.Second}

// Listener is one HTTP listener.
type Listener struct {
	Name       string // default "main" for the first listener, "listener_<i>" after
	Address    string
	Port       int
	StatPrefix string // of the connection manager; default "ingress"
	// Filters run in order before the router.
	Filters []HTTPFilter
	// Routes of the one virtual host (all domains), first match wins; at
	// least one.
	Routes []Route
	// HCM are more fields of the HTTP connection manager (e.g. the path
	// and header hygiene of the repository's envoy.yaml), rendered as JSON
	// values; the fields this package renders itself are refused.
	HCM map[string]any
	// TLS, when set, terminates TLS (or QUIC, with HTTP3) on the listener.
	TLS *ListenerTLS
	// HTTP3 serves HTTP/3 over QUIC on UDP; it needs TLS.
	HTTP3 bool
}

// ListenerTLS is a listener's server certificate and, when ClientCAFile is
// set, the CA its required client certificates must chain to.
type ListenerTLS struct {
	CertFile, KeyFile string
	ClientCAFile      string
}

// Route is one route: a path prefix answered by a cluster or directly.
type Route struct {
	Prefix string // default "/"
	// Exactly one of Cluster and Direct.
	Cluster string
	Direct  *DirectResponse
	// RequestHeadersToAdd are added to the forwarded request (values may use
	// Envoy's substitution formatters, e.g. %FILTER_STATE(...)%).
	RequestHeadersToAdd []Header
}

// DirectResponse is a route's direct_response: Envoy answers itself.
type DirectResponse struct {
	Status int    // default 200
	Body   string // inline; empty: no body
}

// Header is a header name and value.
type Header struct{ Name, Value string }

// HTTPFilter is one HTTP filter: exactly one of its members is set.
type HTTPFilter struct {
	JwtAuthn *JwtAuthn
	Wasm     *Wasm
}

// JwtAuthn is Envoy's jwt_authn with one provider, required for every
// path under MatchPrefix.
type JwtAuthn struct {
	Provider          string   // provider name; default "default"
	Issuer            string   // required
	Audiences         []string // none: aud unchecked
	RequireExpiration bool
	Forward           bool          // keep the token header
	FromHeaders       []FromHeader  // none: Envoy's default (Authorization: Bearer)
	PayloadHeader     string        // forward_payload_header
	ClaimToHeaders    []ClaimHeader // claim_to_headers
	// The remote JWKS: fetched from JWKSURI through JWKSCluster.
	JWKSURI       string
	JWKSCluster   string
	JWKSTimeout   time.Duration // default 5s
	CacheDuration time.Duration // of the JWKS; default 600s
	// JwtCacheSize > 0 turns on the verified-token cache (jwt_cache_config
	// with that jwt_cache_size); Envoy has none unless the field is present.
	JwtCacheSize int
	MatchPrefix  string // default "/"
}

// FromHeader is a header a token is read from, and its value prefix.
type FromHeader struct{ Name, Prefix string }

// ClaimHeader copies a claim to a request header.
type ClaimHeader struct{ Header, Claim string }

// Wasm is a proxy-wasm HTTP filter.
type Wasm struct {
	Name          string // plugin name; required
	RootID        string
	VMID          string // default Name: one VM per thread shared by the plugins of that vm_id
	Runtime       string // default envoy.wasm.runtime.v8
	Path          string // the module's file; required
	Configuration string // the plugin configuration (a StringValue); empty: none
	// FailurePolicy is FAIL_CLOSED, FAIL_OPEN or FAIL_RELOAD; empty: Envoy's
	// default (FAIL_CLOSED).
	FailurePolicy string
	// Env is the VM's environment (e.g. GOGC for the Go runtime).
	Env map[string]string
}

// Cluster is a STATIC cluster of one endpoint.
type Cluster struct {
	Name           string
	Address        string
	Port           int
	ConnectTimeout time.Duration // default 1s
}

const localhost = "127.0.0.1"

// AdminURL is the admin base URL, http://address:port.
func (c Config) AdminURL() string {
	return "http://" + net.JoinHostPort(or(c.AdminAddress, localhost), strconv.Itoa(c.AdminPort))
}

// ListenerAddr is listener i's host:port (what Envoy's /listeners shows).
func (c Config) ListenerAddr(i int) string {
	l := c.Listeners[i]
	return net.JoinHostPort(or(l.Address, localhost), strconv.Itoa(l.Port))
}

// ListenerURL is listener i's base URL, http://host:port.
func (c Config) ListenerURL(i int) string { return "http://" + c.ListenerAddr(i) }

// Render returns the configuration as Envoy YAML.
func (c Config) Render() (string, error) {
	if c.AdminPort <= 0 {
		return "", errors.New("envoyproc: no admin port")
	}
	if len(c.Listeners) == 0 {
		return "", errors.New("envoyproc: no listener")
	}
	d := renderData{AdminAddress: or(c.AdminAddress, localhost), AdminPort: c.AdminPort}
	if m := c.MemoryRelease; m != nil {
		if m.Bytes <= 0 || m.Interval <= 0 {
			return "", errors.New("envoyproc: MemoryRelease needs positive Bytes and Interval")
		}
		d.ReleaseBytes, d.ReleaseInterval = m.Bytes, duration(m.Interval, time.Second)
	}
	for i, l := range c.Listeners {
		rl, err := prepareListener(i, l)
		if err != nil {
			return "", err
		}
		d.Listeners = append(d.Listeners, rl)
	}
	seen := map[string]bool{}
	for _, cl := range c.Clusters {
		if cl.Name == "" || cl.Port <= 0 {
			return "", fmt.Errorf("envoyproc: cluster %q needs a name and a port", cl.Name)
		}
		if seen[cl.Name] {
			return "", fmt.Errorf("envoyproc: two clusters named %q", cl.Name)
		}
		seen[cl.Name] = true
		d.Clusters = append(d.Clusters, renderCluster{
			Name: cl.Name, Address: or(cl.Address, localhost), Port: cl.Port,
			ConnectTimeout: duration(cl.ConnectTimeout, time.Second),
		})
	}
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// The template's view of a Config: defaults applied, checked.
type renderData struct {
	AdminAddress    string
	AdminPort       int
	ReleaseBytes    int64
	ReleaseInterval string
	Listeners       []renderListener
	Clusters        []renderCluster
}

type renderListener struct {
	Name, Address, StatPrefix string
	Port                      int
	Filters                   []renderFilter
	Routes                    []renderRoute
	HCM                       []string // "key: JSON value", sorted
	TLS                       *renderTLS
	HTTP3                     bool
}

type renderTLS struct {
	Common       string // common_tls_context as JSON
	ClientCAFile string
}

// renderedHCMFields are the connection manager fields Render writes itself.
var renderedHCMFields = map[string]bool{
	"stat_prefix": true, "route_config": true, "http_filters": true,
	"codec_type": true, "http3_protocol_options": true,
}

type renderRoute struct {
	Prefix     string
	Cluster    string
	Direct     bool
	Status     int
	Body       string
	AddHeaders []Header
}

type renderFilter struct {
	JwtAuthn *renderJwtAuthn
	Wasm     *renderWasm
}

type renderJwtAuthn struct {
	JwtAuthn
	JWKSTimeout, CacheDuration string
}

type renderWasm struct {
	Wasm
	Env []Header // sorted by name
}

type renderCluster struct {
	Name, Address, ConnectTimeout string
	Port                          int
}

func prepareListener(i int, l Listener) (renderListener, error) {
	name := l.Name
	if name == "" {
		name = "main"
		if i > 0 {
			name = "listener_" + strconv.Itoa(i)
		}
	}
	rl := renderListener{Name: name, Address: or(l.Address, localhost), Port: l.Port, StatPrefix: or(l.StatPrefix, "ingress"), HTTP3: l.HTTP3}
	if l.Port <= 0 {
		return rl, fmt.Errorf("envoyproc: listener %s: no port", name)
	}
	for k, v := range l.HCM {
		if renderedHCMFields[k] {
			return rl, fmt.Errorf("envoyproc: listener %s: HCM field %s is rendered by this package", name, k)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return rl, fmt.Errorf("envoyproc: listener %s: HCM field %s: %w", name, k, err)
		}
		key, _ := jsonString(k)
		rl.HCM = append(rl.HCM, key+": "+string(b))
	}
	sort.Strings(rl.HCM)
	if l.HTTP3 && l.TLS == nil {
		return rl, fmt.Errorf("envoyproc: listener %s: HTTP3 needs TLS", name)
	}
	if t := l.TLS; t != nil {
		if t.CertFile == "" || t.KeyFile == "" {
			return rl, fmt.Errorf("envoyproc: listener %s: TLS needs CertFile and KeyFile", name)
		}
		common := map[string]any{"tls_certificates": []any{map[string]any{
			"certificate_chain": map[string]string{"filename": t.CertFile},
			"private_key":       map[string]string{"filename": t.KeyFile},
		}}}
		if t.ClientCAFile != "" {
			common["validation_context"] = map[string]any{"trusted_ca": map[string]string{"filename": t.ClientCAFile}}
		}
		b, err := json.Marshal(common)
		if err != nil {
			return rl, err
		}
		rl.TLS = &renderTLS{Common: string(b), ClientCAFile: t.ClientCAFile}
	}
	if len(l.Routes) == 0 {
		return rl, fmt.Errorf("envoyproc: listener %s: no route", name)
	}
	for _, r := range l.Routes {
		if (r.Cluster == "") == (r.Direct == nil) {
			return rl, fmt.Errorf("envoyproc: listener %s: a route needs exactly one of Cluster and Direct", name)
		}
		rr := renderRoute{Prefix: or(r.Prefix, "/"), Cluster: r.Cluster, AddHeaders: r.RequestHeadersToAdd}
		if r.Direct != nil {
			rr.Direct, rr.Status, rr.Body = true, r.Direct.Status, r.Direct.Body
			if rr.Status == 0 {
				rr.Status = 200
			}
		}
		rl.Routes = append(rl.Routes, rr)
	}
	for _, f := range l.Filters {
		switch {
		case f.JwtAuthn != nil && f.Wasm == nil:
			j := *f.JwtAuthn
			if j.Issuer == "" || j.JWKSURI == "" || j.JWKSCluster == "" {
				return rl, fmt.Errorf("envoyproc: listener %s: jwt_authn needs Issuer, JWKSURI and JWKSCluster", name)
			}
			j.Provider = or(j.Provider, "default")
			j.MatchPrefix = or(j.MatchPrefix, "/")
			rl.Filters = append(rl.Filters, renderFilter{JwtAuthn: &renderJwtAuthn{
				JwtAuthn:      j,
				JWKSTimeout:   duration(j.JWKSTimeout, 5*time.Second),
				CacheDuration: duration(j.CacheDuration, 600*time.Second),
			}})
		case f.Wasm != nil && f.JwtAuthn == nil:
			w := *f.Wasm
			if w.Name == "" || w.Path == "" {
				return rl, fmt.Errorf("envoyproc: listener %s: a Wasm filter needs Name and Path", name)
			}
			switch w.FailurePolicy {
			case "", "FAIL_CLOSED", "FAIL_OPEN", "FAIL_RELOAD":
			default:
				return rl, fmt.Errorf("envoyproc: listener %s: unknown failure policy %q", name, w.FailurePolicy)
			}
			w.VMID = or(w.VMID, w.Name)
			w.Runtime = or(w.Runtime, "envoy.wasm.runtime.v8")
			rw := &renderWasm{Wasm: w}
			for k, v := range w.Env {
				rw.Env = append(rw.Env, Header{Name: k, Value: v})
			}
			sort.Slice(rw.Env, func(a, b int) bool { return rw.Env[a].Name < rw.Env[b].Name })
			rl.Filters = append(rl.Filters, renderFilter{Wasm: rw})
		default:
			return rl, fmt.Errorf("envoyproc: listener %s: an HTTP filter needs exactly one of JwtAuthn and Wasm", name)
		}
	}
	return rl, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// duration renders d (def when 0) as Envoy reads a protobuf Duration.
func duration(d, def time.Duration) string {
	if d <= 0 {
		d = def
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// jsonString renders s as a JSON string, which is also a YAML double-quoted
// scalar.
func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

var configTemplate = template.Must(template.New("envoy").Funcs(template.FuncMap{"json": jsonString}).Parse(`
admin:
  address: {socket_address: {address: {{json .AdminAddress}}, port_value: {{.AdminPort}}}}
{{- if .ReleaseBytes}}
memory_allocator_manager:
  bytes_to_release: {{.ReleaseBytes}}
  memory_release_interval: {{.ReleaseInterval}}
{{- end}}
static_resources:
  listeners:
{{- range .Listeners}}
  - name: {{json .Name}}
    address: {socket_address: {{"{"}}{{if .HTTP3}}protocol: UDP, {{end}}address: {{json .Address}}, port_value: {{.Port}}}}
{{- if .HTTP3}}
    udp_listener_config:
      quic_options: {}
{{- end}}
    filter_chains:
{{- if .TLS}}
    - transport_socket:
{{- if .HTTP3}}
        name: envoy.transport_sockets.quic
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport
          downstream_tls_context: {common_tls_context: {{.TLS.Common}}}
{{- else}}
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
{{- if .TLS.ClientCAFile}}
          require_client_certificate: true
{{- end}}
          common_tls_context: {{.TLS.Common}}
{{- end}}
      filters:
{{- else}}
    - filters:
{{- end}}
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {{json .StatPrefix}}
{{- if .HTTP3}}
          codec_type: HTTP3
          http3_protocol_options: {}
{{- end}}
{{- range .HCM}}
          {{.}}
{{- end}}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
{{- range .Routes}}
              - match: {prefix: {{json .Prefix}}}
{{- if .Direct}}
                direct_response:
                  status: {{.Status}}
{{- if .Body}}
                  body: {inline_string: {{json .Body}}}
{{- end}}
{{- else}}
                route: {cluster: {{json .Cluster}}}
{{- end}}
{{- if .AddHeaders}}
                request_headers_to_add:
{{- range .AddHeaders}}
                - header: {key: {{json .Name}}, value: {{json .Value}}}
{{- end}}
{{- end}}
{{- end}}
          http_filters:
{{- range .Filters}}
{{- with .JwtAuthn}}
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                {{json .Provider}}:
                  issuer: {{json .Issuer}}
{{- if .Audiences}}
                  audiences:
{{- range .Audiences}}
                  - {{json .}}
{{- end}}
{{- end}}
                  require_expiration: {{.RequireExpiration}}
                  forward: {{.Forward}}
{{- if .FromHeaders}}
                  from_headers:
{{- range .FromHeaders}}
                  - {name: {{json .Name}}, value_prefix: {{json .Prefix}}}
{{- end}}
{{- end}}
{{- if .PayloadHeader}}
                  forward_payload_header: {{json .PayloadHeader}}
{{- end}}
{{- if .ClaimToHeaders}}
                  claim_to_headers:
{{- range .ClaimToHeaders}}
                  - {header_name: {{json .Header}}, claim_name: {{json .Claim}}}
{{- end}}
{{- end}}
                  remote_jwks:
                    http_uri: {uri: {{json .JWKSURI}}, cluster: {{json .JWKSCluster}}, timeout: {{.JWKSTimeout}}}
                    cache_duration: {{.CacheDuration}}
{{- if gt .JwtCacheSize 0}}
                  # Envoy's verified-token cache: on only when this field is set
                  # (jwks_cache.cc: enable_jwt_cache = has_jwt_cache_config()).
                  jwt_cache_config: {jwt_cache_size: {{.JwtCacheSize}}}
{{- end}}
              rules:
              - match: {prefix: {{json .MatchPrefix}}}
                requires: {provider_name: {{json .Provider}}}
{{- end}}
{{- with .Wasm}}
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {{json .Name}}
{{- if .RootID}}
                root_id: {{json .RootID}}
{{- end}}
{{- if .FailurePolicy}}
                failure_policy: {{.FailurePolicy}}
{{- end}}
{{- if .Configuration}}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {{json .Configuration}}
{{- end}}
                vm_config:
                  vm_id: {{json .VMID}}
                  runtime: {{json .Runtime}}
                  code: {local: {filename: {{json .Path}}}}
{{- if .Env}}
                  environment_variables:
                    key_values:
{{- range .Env}}
                      {{json .Name}}: {{json .Value}}
{{- end}}
{{- end}}
{{- end}}
{{- end}}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
{{- end}}
{{- if .Clusters}}
  clusters:
{{- range .Clusters}}
  - name: {{json .Name}}
    connect_timeout: {{.ConnectTimeout}}
    type: STATIC
    load_assignment:
      cluster_name: {{json .Name}}
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: {{json .Address}}, port_value: {{.Port}}}}}}]}]
{{- end}}
{{- end}}
`))

// AdminURLOf reads the admin address of an Envoy YAML configuration and
// returns its base URL, http://host:port.
func AdminURLOf(config string) (string, error) {
	var doc struct {
		Admin struct {
			Address struct {
				SocketAddress struct {
					Address   string `yaml:"address"`
					PortValue int    `yaml:"port_value"`
				} `yaml:"socket_address"`
			} `yaml:"address"`
		} `yaml:"admin"`
	}
	if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
		return "", fmt.Errorf("envoyproc: configuration: %w", err)
	}
	sa := doc.Admin.Address.SocketAddress
	if sa.PortValue <= 0 {
		return "", errors.New("envoyproc: the configuration has no admin socket_address port_value")
	}
	return "http://" + net.JoinHostPort(or(sa.Address, localhost), strconv.Itoa(sa.PortValue)), nil
}
