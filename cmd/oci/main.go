// Command oci packages the filter as an OCI image that Istio can pull with
// WasmPlugin.spec.url: oci://..., without a Docker engine.
//
//	go run ./cmd/oci -wasm build/edgejwt.wasm -out build/oci \
//	    [-archive build/edgejwt-oci.tar] [-tag v0.1.0] [-push registry.example.com/edgejwt:v0.1.0]
//
// The image is the "compat" variant of the Wasm image spec: an OCI manifest
// annotated module.wasm.image/variant=compat with one
// application/vnd.oci.image.layer.v1.tar+gzip layer holding plugin.wasm.
// It writes an OCI image layout to -out, optionally the same layout as one
// tar file (-archive), and optionally pushes the image (-push; credentials
// from the Docker config file, as crane and skopeo read them). The image is
// reproducible: the same module gives the same digest (times are
// SOURCE_DATE_EPOCH, else the Unix epoch).
//
// The manifest digest (sha256:...) is printed alone on stdout; a summary
// goes to stderr. Pin it in the WasmPlugin as url: oci://REPO@sha256:HEX, or
// keep the tag in url and set sha256: HEX (without the "sha256:" prefix):
// Istio compares that field with the manifest digest for oci:// URLs.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "oci:", err)
		os.Exit(1)
	}
}

type options struct {
	wasm, out, archive, tag, push string
	insecure                      bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("oci", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.wasm, "wasm", "build/edgejwt.wasm", "the Wasm module to package")
	fs.StringVar(&o.out, "out", "build/oci", "directory of the OCI image layout to write (replaced)")
	fs.StringVar(&o.archive, "archive", "", "also write the layout as one tar file here (oci-archive)")
	fs.StringVar(&o.tag, "tag", "dev", "tag of the image in the layout (org.opencontainers.image.ref.name)")
	fs.StringVar(&o.push, "push", "", "push the image to this reference, e.g. registry.example.com/edgejwt:v0.1.0")
	fs.BoolVar(&o.insecure, "insecure", false, "allow a plain-HTTP registry for -push")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(o.wasm)
	if err != nil {
		return err
	}
	img, err := buildImage(wasm, created)
	if err != nil {
		return fmt.Errorf("%s: %w", o.wasm, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := writeLayout(o.out, img, o.tag); err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	// Read the layout back as a consumer would, to be sure it holds the module.
	if err := checkLayout(o.out, o.tag, digest, wasm); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "plugin.wasm   %s (%d bytes), sha256 %x\n", o.wasm, len(wasm), sha256.Sum256(wasm))
	fmt.Fprintf(stderr, "image layout  %s (tag %s)\n", o.out, o.tag)
	if o.archive != "" {
		if err := writeArchive(o.out, o.archive, created); err != nil {
			return fmt.Errorf("writing the archive: %w", err)
		}
		fmt.Fprintf(stderr, "oci archive   %s\n", o.archive)
	}
	fmt.Fprintf(stderr, "manifest      %s\n", digest)
	repo := "REGISTRY/edgejwt"
	if o.push != "" {
		ref, err := pushImage(ctx, img, o.push, o.insecure)
		if err != nil {
			return err
		}
		repo = ref.Context().Name()
		fmt.Fprintf(stderr, "pushed        %s\n", ref)
	}
	fmt.Fprintf(stderr, "WasmPlugin    url: oci://%s@%s\n", repo, digest)
	fmt.Fprintf(stderr, "          or  sha256: %s (with a tagged url)\n", digest.Hex)
	fmt.Fprintln(stdout, digest)
	return nil
}

// sourceDate is $SOURCE_DATE_EPOCH (reproducible-builds.org), else the epoch.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since the epoch", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func checkLayout(dir, tag string, want v1.Hash, wasm []byte) error {
	img, err := readLayout(dir, tag)
	if err != nil {
		return err
	}
	got, err := img.Digest()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: image digest %s, built %s", dir, got, want)
	}
	b, err := extractPlugin(img)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !bytes.Equal(b, wasm) {
		return errors.New(dir + ": plugin.wasm differs from the module packaged")
	}
	return nil
}

// pushImage writes img to ref and checks that the registry serves it under
// the same digest. It returns the reference pushed.
func pushImage(ctx context.Context, img v1.Image, ref string, insecure bool) (name.Reference, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("-push %q: %w", ref, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if err := remote.Write(r, img, ropts...); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", r, err)
	}
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("checking %s after the push: %w", r, err)
	}
	want, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if desc.Digest != want {
		return nil, fmt.Errorf("%s: registry serves %s, pushed %s", r, desc.Digest, want)
	}
	return r, nil
}
