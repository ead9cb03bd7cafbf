package istio

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"istio.io/istio/pkg/util/sets"
	"istio.io/istio/pkg/wasm"

	"github.com/edgejwt/edgejwt/platform/internal/imagetest"
)

// loadBuilt returns an image make oci wrote, as make platform names it in
// the environment; the test fails when it does not (go test outside make
// platform): a missing image is a broken setup, not a reason to pass.
func loadBuilt(t *testing.T, layoutEnv, wasmEnv string) imagetest.Image {
	t.Helper()
	if os.Getenv(layoutEnv) == "" {
		t.Fatalf("%s is not set: run make platform, which builds the images with make oci", layoutEnv)
	}
	img, err := imagetest.LoadFromEnv(layoutEnv, wasmEnv)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func startRegistry(t *testing.T) *imagetest.Registry {
	t.Helper()
	r := imagetest.StartRegistry()
	t.Cleanup(r.Close)
	return r
}

func push(t *testing.T, r *imagetest.Registry, repo, tag string, img imagetest.Image) {
	t.Helper()
	if err := r.Push(repo, tag, img.Image); err != nil {
		t.Fatal(err)
	}
}

// newAgentCache is the module cache of Istio's agent (pilot-agent keeps one
// per proxy), allowed to speak plain HTTP to the test registry.
func newAgentCache(t *testing.T, r *imagetest.Registry) *wasm.LocalFileCache {
	t.Helper()
	c := wasm.NewLocalFileCache(t.TempDir(), wasm.Options{InsecureRegistries: sets.New(r.Host)})
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
	built := loadBuilt(t, imagetest.EnvLayout, imagetest.EnvWasm)
	reg := startRegistry(t)
	push(t, reg, "edgejwt", "v0.1.0", built)
	tagged := "oci://" + reg.Host + "/edgejwt:v0.1.0"
	pinned := "oci://" + reg.Host + "/edgejwt@" + built.Digest.String()
	other := strings.Repeat("0", 64)

	for _, tc := range []struct {
		name, url, sha256 string
		wantErr           string
	}{
		{name: "by tag", url: tagged},
		{name: "by digest", url: pinned},
		{name: "by tag, sha256 pinned", url: tagged, sha256: built.Digest.Hex},
		{name: "by digest, sha256 pinned", url: pinned, sha256: built.Digest.Hex},
		{name: "by tag, another sha256", url: tagged, sha256: other,
			wantErr: "has checksum " + built.Digest.Hex + ", which does not match: " + other},
		{name: "by a digest the registry does not have", url: "oci://" + reg.Host + "/edgejwt@sha256:" + other,
			wantErr: "could not fetch Wasm OCI image"},
		{name: "sha256 of plugin.wasm, not of the manifest", url: tagged, sha256: sha256Hex(built.Wasm),
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
				expectModule(t, tc.url, got, built.Wasm)
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
	first := loadBuilt(t, imagetest.EnvLayout, imagetest.EnvWasm)
	second := loadBuilt(t, imagetest.EnvLayoutRSA, imagetest.EnvWasmRSA)
	if bytes.Equal(first.Wasm, second.Wasm) {
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
			url := "oci://" + reg.Host + "/edgejwt:v0.1.0"
			get := func(resourceVersion string) []byte {
				t.Helper()
				b, err := pull(cache, url, wasm.GetOptions{PullPolicy: tc.policy, ResourceVersion: resourceVersion})
				if err != nil {
					t.Fatal(err)
				}
				return b
			}

			push(t, reg, "edgejwt", "v0.1.0", first)
			expectModule(t, "first pull", get("1"), first.Wasm)
			pulls := reg.ManifestGets()
			expectModule(t, "same resource version", get("1"), first.Wasm)
			if n := reg.ManifestGets() - pulls; n != 0 {
				t.Errorf("the same resource version asked the registry %d times, want 0", n)
			}

			// A new release under the same tag, and an edit of the WasmPlugin.
			push(t, reg, "edgejwt", "v0.1.0", second)
			pulls = reg.ManifestGets()
			got := get("2")
			asked := reg.ManifestGets() - pulls
			if tc.wantNewImage {
				expectModule(t, "new resource version", got, second.Wasm)
				if asked == 0 {
					t.Error("the registry was not asked")
				}
			} else {
				expectModule(t, "new resource version", got, first.Wasm)
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
