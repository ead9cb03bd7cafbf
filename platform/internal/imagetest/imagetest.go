// Package imagetest gives the platform checks the OCI images `make oci`
// wrote (build/oci, build/oci-rsa) and a registry on 127.0.0.1 to pull
// them from: go-containerregistry's in-process registry, counting the
// manifest requests it gets (one per pull).
package imagetest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The environment make platform and make istio-check set: the image layouts
// make oci wrote and the modules in them.
const (
	EnvLayout    = "EDGEJWT_OCI_LAYOUT"     // build/oci
	EnvWasm      = "EDGEJWT_WASM"           // build/edgejwt.wasm
	EnvLayoutRSA = "EDGEJWT_RSA_OCI_LAYOUT" // build/oci-rsa
	EnvWasmRSA   = "EDGEJWT_RSA_WASM"       // build/edgejwt-rsa.wasm
)

// Image is one image of make oci and the module it must carry.
type Image struct {
	Image  v1.Image
	Digest v1.Hash
	Wasm   []byte
}

// Load reads the only image of the OCI image layout dir and the module
// file wasmPath.
func Load(dir, wasmPath string) (Image, error) {
	if dir == "" || wasmPath == "" {
		return Image{}, errors.New("no image layout or module given")
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return Image{}, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Image{}, err
	}
	if len(im.Manifests) != 1 {
		return Image{}, fmt.Errorf("%s: %d images, want the one make oci writes", dir, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return Image{}, err
	}
	b, err := os.ReadFile(wasmPath)
	if err != nil {
		return Image{}, err
	}
	return Image{Image: img, Digest: im.Manifests[0].Digest, Wasm: b}, nil
}

// LoadFromEnv is Load of the layout and module the two variables name.
func LoadFromEnv(layoutEnv, wasmEnv string) (Image, error) {
	img, err := Load(os.Getenv(layoutEnv), os.Getenv(wasmEnv))
	if err != nil {
		return Image{}, fmt.Errorf("%s=%q %s=%q: %w", layoutEnv, os.Getenv(layoutEnv), wasmEnv, os.Getenv(wasmEnv), err)
	}
	return img, nil
}

// Registry is an OCI registry on 127.0.0.1, over plain HTTP.
type Registry struct {
	// Host is 127.0.0.1:port, the registry part of image references.
	Host      string
	srv       *httptest.Server
	manifests atomic.Int64
}

// StartRegistry starts an empty registry; Close stops it.
func StartRegistry() *Registry {
	r := &Registry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// ManifestGets is how many manifests were asked for so far (by tag or by
// digest): one per pull.
func (r *Registry) ManifestGets() int64 { return r.manifests.Load() }

// Push writes img to repo:tag.
func (r *Registry) Push(repo, tag string, img v1.Image) error {
	ref, err := name.ParseReference(r.Host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
