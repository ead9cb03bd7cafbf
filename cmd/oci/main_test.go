package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testModule returns the module to package: the filter e2e tested when
// $EDGEJWT_WASM names it, else a small valid Wasm module (header and one
// custom section) written here.
func testModule(t *testing.T) (path string, wasm []byte) {
	t.Helper()
	if p := os.Getenv("EDGEJWT_WASM"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("EDGEJWT_WASM: %v", err)
		}
		t.Logf("packaging $EDGEJWT_WASM=%s (%d bytes)", p, len(b))
		return p, b
	}
	return syntheticModule(t)
}

// syntheticModule writes a small valid Wasm module: the header and one
// custom section.
func syntheticModule(t *testing.T) (path string, wasm []byte) {
	t.Helper()
	name := "edgejwt-oci-test"
	payload := bytes.Repeat([]byte("proxy-wasm "), 3000)
	body := append(uleb128(len(name)), name...)
	body = append(body, payload...)
	b := append(append([]byte{}, wasmHeader...), 0x00) // custom section
	b = append(b, uleb128(len(body))...)
	b = append(b, body...)
	p := filepath.Join(t.TempDir(), "module.wasm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func uleb128(n int) []byte {
	var out []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			c |= 0x80
		}
		out = append(out, c)
		if n == 0 {
			return out
		}
	}
}

// runCmd runs the command as `go run ./cmd/oci` would and returns its stdout.
func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	stdout, _ := runCmd2(t, args...)
	return stdout
}

func runCmd2(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := run(context.Background(), args, &o, &e); err != nil {
		t.Fatalf("oci %s: %v\nstderr:\n%s", strings.Join(args, " "), err, e.String())
	}
	t.Logf("oci %s:\n%s", strings.Join(args, " "), e.String())
	return o.String(), e.String()
}

var digestLine = regexp.MustCompile(`^sha256:[a-f0-9]{64}\n$`)

// TestPushPullRoundTrip builds the image, pushes it to a registry on
// loopback (go-containerregistry's in-process registry), pulls it back by tag
// and by digest as Istio's fetcher does, and checks that the layer holds the
// exact module.
func TestPushPullRoundTrip(t *testing.T) {
	wasmPath, wasm := testModule(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tagged := host + "/edgejwt/filter:test"

	dir := t.TempDir()
	out, summary := runCmd2(t, "-wasm", wasmPath, "-out", filepath.Join(dir, "oci"),
		"-archive", filepath.Join(dir, "oci.tar"), "-tag", "test", "-push", tagged)
	if !digestLine.MatchString(out) {
		t.Fatalf("stdout %q: want the manifest digest alone", out)
	}
	want, err := v1.NewHash(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`url: (oci://\S+)`).FindStringSubmatch(summary)
	if pinned == nil || pinned[1] != "oci://"+host+"/edgejwt/filter@"+want.String() {
		t.Fatalf("summary does not print the pinned url oci://%s/edgejwt/filter@%s:\n%s", host, want, summary)
	}
	if !strings.Contains(summary, "sha256: "+want.Hex+" ") {
		t.Fatalf("summary does not print the WasmPlugin sha256 %s:\n%s", want.Hex, summary)
	}

	// Pull as Istio's agent does for WasmPlugin.spec.url (pkg/wasm cache.go and
	// imagefetcher.go): parse the URL, take host+path as the image reference,
	// and compare the manifest digest's hex with spec.sha256.
	for _, tc := range []struct{ name, url string }{
		{"by tag", "oci://" + tagged},
		{"by digest", pinned[1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			r, err := name.ParseReference(u.Host + u.Path)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(r)
			if err != nil {
				t.Fatal(err)
			}
			img, err := desc.Image()
			if err != nil {
				t.Fatal(err)
			}
			got, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if got.Hex != want.Hex {
				t.Errorf("pulled digest %s, printed %s", got, want)
			}
			checkImage(t, img, wasm)
		})
	}

	// The layout on disk and the archive hold the same image.
	img, err := readLayout(filepath.Join(dir, "oci"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != want {
		t.Errorf("layout digest %s, want %s", d, want)
	}
	untarred := filepath.Join(dir, "untarred")
	untar(t, filepath.Join(dir, "oci.tar"), untarred)
	img, err = readLayout(untarred, "test")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d != want {
		t.Errorf("archive digest %s, want %s", d, want)
	}
	checkImage(t, img, wasm)
}

// checkImage checks the raw manifest and config against the compat variant
// and that plugin.wasm in the layer is wasm, byte for byte.
func checkImage(t *testing.T, img v1.Image, wasm []byte) {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
		Layers []struct {
			MediaType string `json:"mediaType"`
		} `json:"layers"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 2 || m.MediaType != "application/vnd.oci.image.manifest.v1+json" ||
		m.Config.MediaType != "application/vnd.oci.image.config.v1+json" ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" ||
		m.Annotations["module.wasm.image/variant"] != "compat" {
		t.Errorf("manifest is not the compat variant:\n%s", raw)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "wasip1" || cf.Architecture != "wasm" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config: os %q architecture %q diff_ids %v", cf.OS, cf.Architecture, cf.RootFS.DiffIDs)
	}
	got, err := extractPlugin(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wasm) {
		t.Fatalf("plugin.wasm in the layer (%d bytes) differs from the module (%d bytes)", len(got), len(wasm))
	}
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("archive entry %q escapes the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, 0o644)
			}
		default:
			t.Fatalf("archive entry %q of type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReproducible: the same module gives the same digest and the same
// archive bytes; SOURCE_DATE_EPOCH changes the digest.
func TestReproducible(t *testing.T) {
	wasmPath, _ := syntheticModule(t) // any module shows it; this one is quick under -race
	dir := t.TempDir()
	var digests []string
	var archives [][]byte
	for i := range 2 {
		out := filepath.Join(dir, "oci")
		archive := filepath.Join(dir, "oci.tar")
		digests = append(digests, runCmd(t, "-wasm", wasmPath, "-out", out, "-archive", archive))
		b, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
		if i == 0 {
			time.Sleep(1100 * time.Millisecond) // a later wall clock must not matter
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of one module: %s and %s", digests[0], digests[1])
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("two builds of one module wrote different archives")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if d := runCmd(t, "-wasm", wasmPath, "-out", filepath.Join(dir, "oci2")); d == digests[0] {
		t.Error("SOURCE_DATE_EPOCH did not change the image")
	}
}

func TestRefusesWhatIsNotWasm(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content []byte
		wantErr string
	}{
		{"text", []byte("#!/bin/sh\necho not wasm\n"), "does not start with \\0asm"},
		{"short", []byte("\x00asm"), "does not start with \\0asm"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "unsupported Wasm binary version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"-wasm", p, "-out", filepath.Join(dir, "oci")}, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed %q for a refused module", stdout.String())
			}
		})
	}
}

func TestSourceDateEpochInvalid(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := sourceDate(); err == nil {
		t.Fatal("SOURCE_DATE_EPOCH=yesterday accepted")
	}
}
