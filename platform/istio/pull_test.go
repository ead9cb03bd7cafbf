package istio

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"istio.io/istio/pkg/util/sets"
	"istio.io/istio/pkg/wasm"
)

// The images `make oci` wrote, and the modules in them; make platform sets
// these. The default build is pulled every way Istio's agent can pull it;
// the RSA-only build is the "new release" pushed under the same tag, to
// tell a cached module from a fresh pull.
const (
	envLayout    = "EDGEJWT_OCI_LAYOUT"     // build/oci
	envWasm      = "EDGEJWT_WASM"           // build/edgejwt.wasm
	envLayoutRSA = "EDGEJWT_RSA_OCI_LAYOUT" // build/oci-rsa
	envWasmRSA   = "EDGEJWT_RSA_WASM"       // build/edgejwt-rsa.wasm
)

// builtImage is one image of `make oci` and the module it must carry.
type builtImage struct {
	img    v1.Image
	digest v1.Hash
	wasm   []byte
}

// loadBuilt reads the only image of the OCI layout named by the environment
// variable layoutEnv and the module named by wasmEnv. The test is skipped
// when layoutEnv is unset (go test outside make platform).
func loadBuilt(t *testing.T, layoutEnv, wasmEnv string) builtImage {
	t.Helper()
	dir := os.Getenv(layoutEnv)
	if dir == "" {
		t.Skipf("%s is not set: run make platform, which builds the images with make oci", layoutEnv)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("%s=%s: %v", layoutEnv, dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("%s: %d images, want the one make oci wrote", dir, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(os.Getenv(wasmEnv))
	if err != nil {
		t.Fatalf("%s: %v", wasmEnv, err)
	}
	return builtImage{img: img, digest: im.Manifests[0].Digest, wasm: b}
}

// countingRegistry is go-containerregistry's in-process registry on
// 127.0.0.1, counting the manifest requests it gets: one per pull.
type countingRegistry struct {
	srv       *httptest.Server
	host      string
	manifests atomic.Int64
}

func startRegistry(t *testing.T) *countingRegistry {
	t.Helper()
	r := &countingRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// push writes img to repo:tag of the registry.
func (r *countingRegistry) push(t *testing.T, repo, tag string, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// newAgentCache is the module cache of Istio's agent (pilot-agent keeps one
// per proxy), allowed to speak plain HTTP to the test registry.
func newAgentCache(t *testing.T, r *countingRegistry) *wasm.LocalFileCache {
	t.Helper()
	c := wasm.NewLocalFileCache(t.TempDir(), wasm.Options{InsecureRegistries: sets.New(r.host)})
	t.Cleanup(c.Cleanup)
	return c
}

// pull is what the agent does for one WasmPlugin in an ECDS update: Get
// with the url, the sha256 field, the pull policy and the resource.
func pull(c *wasm.LocalFileCache, url string, o wasm.GetOptions) ([]byte, error) {
	o.RequestTimeout = 30 * time.Second // the agent's default is set by its caller, not by Get
	if o.ResourceName == "" {
		o.ResourceName = "extensions.istio.io/trafficextension/istio-system.edgejwt"
	}
	p, err := c.Get(url, o)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func expectModule(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the agent got %d bytes, not the module of the image (%d bytes)", what, len(got), len(want))
	}
}

// TestAgentPullsImage: Istio's agent (istio.io/istio pkg/wasm, the cache
// pilot-agent converts every remote WasmPlugin module with) pulls the image
// `make oci` built from a registry, by tag and by digest, with and without
// the WasmPlugin's sha256 pin, and gets plugin.wasm byte for byte.
func TestAgentPullsImage(t *testing.T) {
	built := loadBuilt(t, envLayout, envWasm)
	reg := startRegistry(t)
	reg.push(t, "edgejwt", "v0.1.0", built.img)
	tagged := "oci://" + reg.host + "/edgejwt:v0.1.0"
	pinned := "oci://" + reg.host + "/edgejwt@" + built.digest.String()
	other := strings.Repeat("0", 64)

	for _, tc := range []struct {
		name, url, sha256 string
		wantErr           string
	}{
		{name: "by tag", url: tagged},
		{name: "by digest", url: pinned},
		{name: "by tag, sha256 pinned", url: tagged, sha256: built.digest.Hex},
		{name: "by digest, sha256 pinned", url: pinned, sha256: built.digest.Hex},
		{name: "by tag, another sha256", url: tagged, sha256: other,
			wantErr: "has checksum " + built.digest.Hex + ", which does not match: " + other},
		{name: "by a digest the registry does not have", url: "oci://" + reg.host + "/edgejwt@sha256:" + other,
			wantErr: "could not fetch Wasm OCI image"},
		{name: "sha256 of plugin.wasm, not of the manifest", url: tagged, sha256: sha256Hex(built.wasm),
			wantErr: "which does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pull(newAgentCache(t, reg), tc.url, wasm.GetOptions{Checksum: tc.sha256})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("pulled %d bytes; want the pull refused with %q", len(got), tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q\nwant it to contain %q", err, tc.wantErr)
			case tc.wantErr == "":
				expectModule(t, tc.url, got, built.wasm)
			}
		})
	}
}

// TestAgentPullPolicy: what imagePullPolicy means to the agent when the tag
// is moved to another image (here the RSA-only build, the second image
// `make oci` writes). The agent asks again only when the WasmPlugin's
// resource version changes (any edit of the object), and then only under
// Always; IfNotPresent, and the default for any tag but :latest, keep the
// module first pulled for as long as the agent caches it (a day unused).
func TestAgentPullPolicy(t *testing.T) {
	first := loadBuilt(t, envLayout, envWasm)
	second := loadBuilt(t, envLayoutRSA, envWasmRSA)
	if bytes.Equal(first.wasm, second.wasm) {
		t.Fatal("the two builds are the same module: the test could not tell them apart")
	}
	for _, tc := range []struct {
		name         string
		policy       wasm.PullPolicy
		wantNewImage bool
	}{
		{"IfNotPresent", wasm.IfNotPresent, false},
		{"Always", wasm.Always, true},
		{"unspecified", wasm.Unspecified, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			cache := newAgentCache(t, reg)
			url := "oci://" + reg.host + "/edgejwt:v0.1.0"
			get := func(resourceVersion string) []byte {
				t.Helper()
				b, err := pull(cache, url, wasm.GetOptions{PullPolicy: tc.policy, ResourceVersion: resourceVersion})
				if err != nil {
					t.Fatal(err)
				}
				return b
			}

			reg.push(t, "edgejwt", "v0.1.0", first.img)
			expectModule(t, "first pull", get("1"), first.wasm)
			pulls := reg.manifests.Load()
			expectModule(t, "same resource version", get("1"), first.wasm)
			if n := reg.manifests.Load() - pulls; n != 0 {
				t.Errorf("the same resource version asked the registry %d times, want 0", n)
			}

			// A new release under the same tag, and an edit of the WasmPlugin.
			reg.push(t, "edgejwt", "v0.1.0", second.img)
			pulls = reg.manifests.Load()
			got := get("2")
			asked := reg.manifests.Load() - pulls
			if tc.wantNewImage {
				expectModule(t, "new resource version", got, second.wasm)
				if asked == 0 {
					t.Error("the registry was not asked")
				}
			} else {
				expectModule(t, "new resource version", got, first.wasm)
				if asked != 0 {
					t.Errorf("the registry was asked %d times, want 0", asked)
				}
			}
		})
	}
}

func sha256Hex(b []byte) string {
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	return h.Hex
}
