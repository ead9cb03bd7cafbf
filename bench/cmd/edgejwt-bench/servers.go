package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	funce "github.com/tetratelabs/func-e"
	"github.com/tetratelabs/func-e/api"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyadmin"
)

const (
	// jwksCluster is the cluster, in setups (b) and (c), through which the
	// JWKS is fetched from the issuer.
	jwksCluster = "jwks_issuer"
	// benchPath is the path every request asks for.
	benchPath = "/protected"
	// Headers the verified claims are written to, in (b) and (c) alike.
	payloadHeader = "x-jwt-payload"
	subHeader     = "x-jwt-sub"
	rolesHeader   = "x-jwt-roles"

	envoyReadyTimeout = 2 * time.Minute
	nodeReadyTimeout  = 30 * time.Second
	stopTimeout       = 10 * time.Second
)

// server is one running server under test: Envoy in front of the upstream,
// or the Node service.
type server struct {
	pid     int    // the process whose CPU and memory are measured
	url     string // http://127.0.0.1:port/protected
	admin   string // Envoy's admin base URL; "" for Node
	logPath string
	stop    func()
}

// envoyTemplate is the configuration of setups (a), (b) and (c): one
// listener, one route to the upstream, and the auth filter of the setup
// before the router.
var envoyTemplate = template.Must(template.New("envoy").Funcs(template.FuncMap{"json": jsonString}).Parse(`
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: {{.AdminPort}}}}
static_resources:
  listeners:
  - name: main
    address: {socket_address: {address: 127.0.0.1, port_value: {{.ListenPort}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: upstream}
          http_filters:
{{- if eq .Kind "jwtauthn"}}
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                bench:
                  issuer: {{json .Issuer}}
                  audiences: [{{json .Audience}}]
                  require_expiration: true
                  forward: false
                  from_headers: [{name: Authorization, value_prefix: "Bearer "}]
                  forward_payload_header: {{json .PayloadHeader}}
                  claim_to_headers:
                  - {header_name: {{json .SubHeader}}, claim_name: sub}
                  - {header_name: {{json .RolesHeader}}, claim_name: roles}
                  remote_jwks:
                    http_uri: {uri: {{json .JWKSURI}}, cluster: {{json .JWKSCluster}}, timeout: 5s}
                    cache_duration: 600s
{{- if .JwtCache}}
                  # Envoy's verified-token cache: on only when this field is set
                  # (jwks_cache.cc: enable_jwt_cache = has_jwt_cache_config()).
                  jwt_cache_config: {jwt_cache_size: 100}
{{- end}}
              rules:
              - match: {prefix: "/"}
                requires: {provider_name: bench}
{{- end}}
{{- if eq .Kind "edgejwt"}}
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: edgejwt
                fail_open: false
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {{json .FilterConfig}}
                vm_config:
                  vm_id: edgejwt
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: {{json .WasmPath}}}}
{{- end}}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: {{.UpstreamPort}}}}}}]}]
  - name: {{json .JWKSCluster}}
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: {{json .JWKSCluster}}
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: {{.IssuerPort}}}}}}]}]
`))

// jsonString renders s as a JSON string, which is also a YAML double-quoted
// scalar.
func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// envoyParams fills envoyTemplate.
type envoyParams struct {
	Kind         string // "noauth", "jwtauthn", "edgejwt"
	AdminPort    int
	ListenPort   int
	UpstreamPort int
	IssuerPort   int
	Issuer       string
	Audience     string
	JWKSURI      string
	JWKSCluster  string
	FilterConfig string
	WasmPath     string
	JwtCache     bool

	PayloadHeader, SubHeader, RolesHeader string
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

// startEnvoy writes the configuration and runs Envoy (one worker thread)
// through func-e, pinned to cpu when pin is set, and returns once its
// listener serves.
func (b *bench) startEnvoy(p envoyParams) (*server, error) {
	var err error
	if p.AdminPort, err = devservers.FreePort(); err != nil {
		return nil, err
	}
	if p.ListenPort, err = devservers.FreePort(); err != nil {
		return nil, err
	}
	p.JWKSCluster = jwksCluster
	p.PayloadHeader, p.SubHeader, p.RolesHeader = payloadHeader, subHeader, rolesHeader
	dir, err := os.MkdirTemp(b.tmp, "envoy-"+p.Kind+"-")
	if err != nil {
		return nil, err
	}
	var yaml bytes.Buffer
	if err := envoyTemplate.Execute(&yaml, p); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(cfgPath, yaml.Bytes(), 0o600); err != nil {
		return nil, err
	}
	// func-e execs the binary it is given; a wrapper that execs taskset, which
	// execs Envoy, keeps one process (the pid stays) pinned from its start.
	envoyBin := b.envoyPath
	if b.pin {
		envoyBin = filepath.Join(dir, "envoy-pinned")
		script := fmt.Sprintf("#!/bin/sh\nexec taskset -c %d %q \"$@\"\n", b.serverCPU, b.envoyPath)
		if err := os.WriteFile(envoyBin, []byte(script), 0o700); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dir, "envoy.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{
		"-c", cfgPath,
		"--concurrency", "1",
		"--disable-hot-restart",
		"--log-level", "warning",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}) // closed when funce.Run has returned
	var runErr error
	go func() {
		defer close(done)
		runErr = funce.Run(ctx, args,
			api.EnvoyPath(envoyBin),
			api.HomeDir(filepath.Join(dir, "func-e")),
			api.Out(logf),
			api.EnvoyOut(logf),
			api.EnvoyErr(logf),
		)
	}()
	s := &server{
		url:     fmt.Sprintf("http://127.0.0.1:%d%s", p.ListenPort, benchPath),
		admin:   fmt.Sprintf("http://127.0.0.1:%d", p.AdminPort),
		logPath: logPath,
	}
	var once bool
	s.stop = func() {
		if once {
			return
		}
		once = true
		c := &http.Client{Timeout: 2 * time.Second}
		if resp, err := c.Post(s.admin+"/quitquitquit", "text/plain", nil); err == nil {
			resp.Body.Close()
		}
		select {
		case <-done:
		case <-time.After(stopTimeout):
			cancel()
			<-done
		}
		cancel()
		logf.Close()
	}
	if err := envoyadmin.AwaitReady(s.admin, fmt.Sprintf("127.0.0.1:%d", p.ListenPort), envoyReadyTimeout, done); err != nil {
		if errors.Is(err, envoyadmin.ErrExited) {
			err = fmt.Errorf("%w: %v", err, runErr)
		}
		s.stop()
		if c := firstCritical(logPath); c != "" {
			err = fmt.Errorf("envoy refused to start: %s", c)
		}
		return nil, fmt.Errorf("%w\n%s", err, tail(logPath, 30))
	}
	if s.pid, err = findChild(os.Getpid(), cfgPath); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// envoyStats returns the stats of one type (Counters, Gauges) of Envoy's
// /stats whose names match the regular expression filter (query-escaped).
func envoyStats(admin, typ, filter string) (map[string]int64, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	body, err := envoyadmin.Get(c, admin+"/stats?type="+typ+"&filter="+filter)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(body, "\n") {
		name, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue // histograms
		}
		out[name] = n
	}
	return out, nil
}

// startNode runs setup (d): node server.js, pinned, listening on a free
// port; it returns once the port accepts connections.
func (b *bench) startNode() (*server, error) {
	port, err := devservers.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(b.tmp, "node-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "node.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{b.nodePath, "server.js"}
	if b.pin {
		args = append([]string{"taskset", "-c", strconv.Itoa(b.serverCPU)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = b.nodeDir
	cmd.Env = append(os.Environ(),
		"NODE_ENV=production",
		"BENCH_ISSUER="+b.issuer.Name,
		"BENCH_AUDIENCE="+audience,
		"BENCH_JWKS_URI="+b.issuer.JWKSURI(),
		"BENCH_PORT="+strconv.Itoa(port),
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s := &server{
		pid:     cmd.Process.Pid,
		url:     fmt.Sprintf("http://127.0.0.1:%d%s", port, benchPath),
		logPath: logPath,
	}
	var once bool
	s.stop = func() {
		if once {
			return
		}
		once = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	}
	if err := awaitPort(fmt.Sprintf("127.0.0.1:%d", port), nodeReadyTimeout, exited); err != nil {
		s.stop()
		return nil, fmt.Errorf("node: %w\n%s", err, tail(logPath, 30))
	}
	return s, nil
}

// awaitPort waits until addr accepts a TCP connection.
func awaitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("process exited before it listened")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v", addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startUpstream runs the upstream of setups (a), (b) and (c): this program
// with -upstream, on the load generator's CPU, one Go thread.
func (b *bench) startUpstream() (port int, pid int, stop func(), err error) {
	port, err = devservers.FreePort()
	if err != nil {
		return 0, 0, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, 0, nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{self, "-upstream", addr}
	if b.pin {
		args = append([]string{"taskset", "-c", strconv.Itoa(b.loadCPU)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, 0, nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := awaitPort(addr, 10*time.Second, exited); err != nil {
		stop()
		return 0, 0, nil, fmt.Errorf("upstream: %w", err)
	}
	return port, cmd.Process.Pid, stop, nil
}

// serveUpstream is the upstream: 200 and a small JSON body naming the
// subject the auth filter put in x-jwt-sub, for any request.
func serveUpstream(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ct := []string{"application/json"}
	prefix := []byte(`{"message":"Access granted","sub":`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 128)
		body = append(body, prefix...)
		body = strconv.AppendQuoteToASCII(body, r.Header.Get(subHeader))
		body = append(body, "}\n"...)
		w.Header()["Content-Type"] = ct
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// firstCritical is the message of the first critical line of an Envoy log
// (a filter that refused its configuration says why there), or "".
func firstCritical(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "[critical]") {
			if i := strings.LastIndex(line, "] "); i >= 0 {
				return strings.TrimSpace(line[i+2:])
			}
			return line
		}
	}
	return ""
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}
