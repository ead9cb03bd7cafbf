package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The Wasm image "compat" variant (solo-io/wasm spec/spec-compat.md), the
// first layout Istio's image fetcher tries for an OCI manifest
// (istio/istio pkg/wasm/imagefetcher.go, extractOCIStandardImage): exactly
// one layer of type application/vnd.oci.image.layer.v1.tar+gzip holding
// plugin.wasm, and the manifest annotation below.
const (
	pluginFile        = "plugin.wasm"
	variantAnnotation = "module.wasm.image/variant"
	variantCompat     = "compat"
	titleAnnotation   = "org.opencontainers.image.title"
	refNameAnnotation = "org.opencontainers.image.ref.name"
	layerMediaType    = types.OCILayer // application/vnd.oci.image.layer.v1.tar+gzip
)

// wasmHeader is the Wasm binary magic and version 1. Istio refuses a fetched
// module that does not start with the magic.
var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// checkWasm refuses bytes that are not a Wasm binary module (version 1).
func checkWasm(b []byte) error {
	if len(b) < len(wasmHeader) || !bytes.Equal(b[:4], wasmHeader[:4]) {
		return errors.New("not a Wasm module: it does not start with \\0asm")
	}
	if !bytes.Equal(b[4:8], wasmHeader[4:]) {
		return fmt.Errorf("unsupported Wasm binary version % x", b[4:8])
	}
	return nil
}

// layerTarGz is the one layer: a gzipped tar holding plugin.wasm alone. Every
// header field that could vary between builds is fixed (times, owners,
// mode, gzip header), so the same module always gives the same digest.
func layerTarGz(wasm []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     pluginFile,
		Size:     int64(len(wasm)),
		Mode:     0o444,
		ModTime:  mtime,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(wasm); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildImage makes the compat-variant image of a Wasm module. created is the
// time written in the config and the tar header (SOURCE_DATE_EPOCH or the
// Unix epoch, for reproducible digests).
func buildImage(wasm []byte, created time.Time) (v1.Image, error) {
	if err := checkWasm(wasm); err != nil {
		return nil, err
	}
	created = created.UTC()
	gz, err := layerTarGz(wasm, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(layerMediaType))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: layerMediaType,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "edgejwt cmd/oci: COPY " + pluginFile + " /",
			Comment:   "proxy-wasm module",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	// The module is built with GOOS=wasip1 GOARCH=wasm; the OCI image spec
	// takes platform values from Go's GOOS/GOARCH lists.
	cf.OS = "wasip1"
	cf.Architecture = "wasm"
	cf.Created = v1.Time{Time: created}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, map[string]string{
		variantAnnotation: variantCompat,
		titleAnnotation:   "edgejwt",
	}).(v1.Image), nil
}

// extractPlugin reads an image the way the compat variant is specified and
// Istio reads it: an OCI manifest with the variant annotation, exactly one
// tar+gzip layer, and in it a file whose base name is plugin.wasm. It
// returns that file's bytes.
func extractPlugin(img v1.Image) ([]byte, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.MediaType != types.OCIManifestSchema1 {
		return nil, fmt.Errorf("manifest media type %q, want %q", m.MediaType, types.OCIManifestSchema1)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		return nil, fmt.Errorf("config media type %q, want %q", m.Config.MediaType, types.OCIConfigJSON)
	}
	if got := m.Annotations[variantAnnotation]; got != variantCompat {
		return nil, fmt.Errorf("annotation %s=%q, want %q", variantAnnotation, got, variantCompat)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%d layers, want exactly 1", len(layers))
	}
	mt, err := layers[0].MediaType()
	if err != nil {
		return nil, err
	}
	if mt != layerMediaType {
		return nil, fmt.Errorf("layer media type %q, want %q", mt, layerMediaType)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("layer is not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no %s in the layer", pluginFile)
		}
		if err != nil {
			return nil, err
		}
		if path.Base(h.Name) != pluginFile {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if err := checkWasm(b); err != nil {
			return nil, fmt.Errorf("%s: %w", pluginFile, err)
		}
		return b, nil
	}
}

// writeLayout writes img as the only image of a fresh OCI image layout in
// dir (which is removed first), tagged with tag.
func writeLayout(dir string, img v1.Image, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
}

// readLayout returns the image tagged tag in the OCI image layout dir.
func readLayout(dir, tag string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Annotations[refNameAnnotation] == tag {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s: no image tagged %q", dir, tag)
}

// writeArchive writes the OCI image layout in dir as one tar file (the
// "oci-archive" form that skopeo and others read), with sorted entries and
// fixed times and owners.
func writeArchive(dir, out string, mtime time.Time) (err error) {
	var names []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	for _, p := range names {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime.UTC(), Format: tar.FormatPAX}
		if st.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, st.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := copyFile(tw, p); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
