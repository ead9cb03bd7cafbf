// Command demo is `make run`: Envoy with the repository's envoy.yaml and the
// built filter, between a demo token issuer (127.0.0.1:8082) and an echo
// upstream (127.0.0.1:8081). It prints curl lines, one with a fresh valid
// token, one without, and one the token's scope does not allow (403), and
// runs until Ctrl-C.
//
// It reads the listener, admin port, issuer and audience from envoy.yaml and
// writes nothing to the repository. Envoy comes from $ENVOY_PATH, else from
// scripts/ensure-envoy.sh, and runs through internal/envoyproc (func-e's Go
// API), as in the benchmark.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

const (
	module       = "github.com/edgejwt/edgejwt"
	issuerPort   = 8082
	upstreamPort = 8081
	tokenTTL     = time.Hour
	readyTimeout = 2 * time.Minute
	stopTimeout  = 10 * time.Second
)

func main() {
	config := flag.String("c", "envoy.yaml", "Envoy configuration, relative to the repository root")
	concurrency := flag.Int("concurrency", 2, "Envoy worker threads")
	flag.Parse()
	if err := run(*config, *concurrency); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(configName string, concurrency int) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	// Envoy resolves the relative wasm path of envoy.yaml against its
	// working directory, which it inherits from this process.
	if err := os.Chdir(root); err != nil {
		return err
	}
	cfg, err := readEnvoyConfig(configName)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.wasm); err != nil {
		return fmt.Errorf("%w (build the filter first: make build)", err)
	}
	envoyPath, err := findEnvoy(root)
	if err != nil {
		return err
	}

	issuer, err := devservers.NewIssuer(issuerPort)
	if err != nil {
		return err
	}
	issuer.Name = cfg.issuer
	if err := issuer.Start(); err != nil {
		return fmt.Errorf("%w (is another demo running?)", err)
	}
	defer issuer.Close()
	if cfg.jwksURI != issuer.JWKSURI() {
		fmt.Fprintf(os.Stderr, "demo: warning: %s fetches keys from %s, but the demo issuer serves them at %s\n",
			configName, cfg.jwksURI, issuer.JWKSURI())
	}
	echo, err := devservers.StartEcho(upstreamPort)
	if err != nil {
		return err
	}
	defer echo.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	admin := fmt.Sprintf("http://127.0.0.1:%d", cfg.adminPort)
	listener := fmt.Sprintf("http://127.0.0.1:%d", cfg.listenPort)
	fmt.Fprintf(os.Stderr, "demo: starting %s with %s (compiling the filter takes a few seconds)\n", envoyPath, configName)
	envoy, err := envoyproc.Start(envoyproc.Options{
		EnvoyPath:         envoyPath,
		ConfigPath:        configName,
		AdminURL:          admin,
		Listener:          fmt.Sprintf("127.0.0.1:%d", cfg.listenPort),
		Concurrency:       concurrency,
		BaseID:            os.Getpid() % 1_000_000,
		LogLevel:          "warning",
		ComponentLogLevel: "wasm:info",
		Log:               os.Stderr,
		StopTimeout:       stopTimeout,
	})
	if err != nil {
		return err
	}
	defer envoy.Stop()
	ready := make(chan error, 1)
	go func() { ready <- envoy.AwaitReady(readyTimeout) }()
	select {
	case err := <-ready:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return nil
	}

	tok, err := issuer.Mint(demoClaims(issuer, cfg.audience))
	if err != nil {
		return err
	}
	selfCheck(listener, tok)

	fmt.Printf(`
edgejwt demo: Envoy %s (admin %s) -> upstream %s; issuer %s

A request with a valid token (sub demo-user, roles admin,reader, scope %q; expires %s):
the upstream echoes the x-jwt-* headers the filter added, and no Authorization.

  curl -i -H 'Authorization: Bearer %s' %s/hello

Without a token (401 No token provided):

  curl -i %s/hello

The same token writing an order (403 insufficient_scope: envoy.yaml's rule asks for
scope orders:write, which the token does not have; docs/authorization.md):

  curl -i -X POST -H 'Authorization: Bearer %s' %s/orders

Ctrl-C stops everything.
`, listener, admin, echo.URL(), issuer.Name, demoScope, time.Now().Add(tokenTTL).Format("15:04:05"), tok, listener, listener, tok, listener)

	select {
	case <-envoy.Done():
		return fmt.Errorf("envoy exited: %v", envoy.Err())
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "\ndemo: stopping")
	return envoy.Stop()
}

// demoScope is the scope of the printed token: it may read orders, not
// write them (envoy.yaml's rule for POST /orders asks for orders:write).
const demoScope = "orders:read profile"

// demoClaims are the claims of the printed token.
func demoClaims(iss *devservers.Issuer, audience string) devservers.Claims {
	c := iss.StandardClaims("demo-user", audience, tokenTTL)
	c["roles"] = []string{"admin", "reader"}
	c["scope"] = demoScope
	return c
}

// selfCheck sends the token once, and once to write an order, and reports
// the answers, so a broken setup shows before anyone copies a curl line.
// The first request also waits for the filter's first JWKS fetch.
func selfCheck(listener, tok string) {
	for _, c := range []struct {
		method, path string
		want         int
	}{{http.MethodGet, "/hello", http.StatusOK}, {http.MethodPost, "/orders", http.StatusForbidden}} {
		req, err := http.NewRequest(c.method, listener+c.path, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			fmt.Fprintf(os.Stderr, "demo: self-check request failed: %v\n", err)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != c.want {
			fmt.Fprintf(os.Stderr, "demo: self-check: %s %s: %s %s, want %d\n", c.method, c.path, resp.Status, body, c.want)
			return
		}
		fmt.Fprintf(os.Stderr, "demo: self-check: the token gets %s for %s %s\n", resp.Status, c.method, c.path)
	}
}

// repoRoot finds the directory of this module's go.mod, from the working
// directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+module+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the demo inside the edgejwt repository (no go.mod of " + module + " found)")
		}
		dir = parent
	}
}

// findEnvoy returns $ENVOY_PATH or what scripts/ensure-envoy.sh prints.
func findEnvoy(root string) (string, error) {
	if p := os.Getenv("ENVOY_PATH"); p != "" {
		return p, nil
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "ensure-envoy.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/ensure-envoy.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// envoyConfig is what the demo needs to know of envoy.yaml.
type envoyConfig struct {
	adminPort  int
	listenPort int
	wasm       string // the filter's file
	issuer     string // jwtRules[0].issuer
	audience   string // jwtRules[0].audiences[0], if any
	jwksURI    string // jwtRules[0].jwksUri
}

// readEnvoyConfig reads the admin and first listener's ports and the edgejwt
// filter's wasm file and first rule from an Envoy YAML configuration.
func readEnvoyConfig(name string) (envoyConfig, error) {
	var cfg envoyConfig
	b, err := os.ReadFile(name)
	if err != nil {
		return cfg, err
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return cfg, fmt.Errorf("%s: %w", name, err)
	}
	cfg.adminPort = toInt(dig(doc, "admin", "address", "socket_address", "port_value"))
	cfg.listenPort = toInt(dig(doc, "static_resources", "listeners", 0, "address", "socket_address", "port_value"))
	if cfg.adminPort == 0 || cfg.listenPort == 0 {
		return cfg, fmt.Errorf("%s: no admin or listener port_value", name)
	}
	wasm := findWasmFilter(doc)
	if wasm == nil {
		return cfg, fmt.Errorf("%s: no envoy.filters.http.wasm filter named edgejwt", name)
	}
	cfg.wasm, _ = dig(wasm, "vm_config", "code", "local", "filename").(string)
	plugin, _ := dig(wasm, "configuration", "value").(string)
	var pc struct {
		JWTRules []struct {
			Issuer    string   `json:"issuer"`
			Audiences []string `json:"audiences"`
			JWKSURI   string   `json:"jwksUri"`
		} `json:"jwtRules"`
	}
	if err := json.Unmarshal([]byte(plugin), &pc); err != nil || len(pc.JWTRules) == 0 {
		return cfg, fmt.Errorf("%s: the edgejwt configuration has no jwtRules (%v)", name, err)
	}
	r := pc.JWTRules[0]
	cfg.issuer, cfg.jwksURI = r.Issuer, r.JWKSURI
	if len(r.Audiences) > 0 {
		cfg.audience = r.Audiences[0]
	}
	if cfg.wasm == "" {
		return cfg, fmt.Errorf("%s: the edgejwt filter has no vm_config.code.local.filename", name)
	}
	return cfg, nil
}

// findWasmFilter returns the config of the first Wasm filter named edgejwt.
func findWasmFilter(node any) map[string]any {
	switch n := node.(type) {
	case map[string]any:
		if cfg, ok := dig(n, "typed_config", "config").(map[string]any); ok && n["name"] == "envoy.filters.http.wasm" && cfg["name"] == "edgejwt" {
			return cfg
		}
		for _, v := range n {
			if c := findWasmFilter(v); c != nil {
				return c
			}
		}
	case []any:
		for _, v := range n {
			if c := findWasmFilter(v); c != nil {
				return c
			}
		}
	}
	return nil
}

// dig walks maps by string key and lists by int index; nil when absent.
func dig(node any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := node.(map[string]any)
			if !ok {
				return nil
			}
			node = m[k]
		case int:
			l, ok := node.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			node = l[k]
		}
	}
	return node
}

func toInt(v any) int {
	n, _ := v.(int)
	return n
}
