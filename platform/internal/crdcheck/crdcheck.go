// Package crdcheck validates Kubernetes objects against the
// CustomResourceDefinitions a project publishes, without a cluster, with the
// validators kube-apiserver runs on a create of a custom resource: object
// metadata, the OpenAPI schema, list types and CEL rules, plus the
// unknown-field check of kubectl's default strict field validation.
//
// The CRDs are read from Go modules of the platform module's build list
// (ModuleFile), so that the version validated against is the one go.mod
// pins.
package crdcheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// version validates objects of one served version of a CRD.
type version struct {
	crd        string
	namespaced bool
	schema     validation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator // nil when the schema has no CEL rules
}

// Set is the served versions of a set of CRDs, by group, version and kind.
type Set struct {
	versions map[schema.GroupVersionKind]*version
	// Sources names the files read, for logs.
	Sources []string
}

// ModuleFile returns the path of file in the Go module mod as the build list
// of the module in the current directory selects it, and that version.
func ModuleFile(mod, file string) (path, modVersion string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", mod).Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m %s: %w", mod, err)
	}
	dir, v, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if dir == "" {
		return "", "", fmt.Errorf("module %s is not downloaded (go mod download %s)", mod, mod)
	}
	return filepath.Join(dir, file), v, nil
}

// Load reads the CRDs of the given YAML files (each a stream of documents;
// those that are not CustomResourceDefinitions are skipped).
func Load(files ...string) (*Set, error) {
	s := &Set{versions: map[schema.GroupVersionKind]*version{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := SplitYAML(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, doc := range docs {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := json.Unmarshal(doc, &crd); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
					continue
				}
				cv, err := newVersion(crd.Name, crd.Spec.Scope == apiextensionsv1.NamespaceScoped, v.Schema.OpenAPIV3Schema)
				if err != nil {
					return nil, fmt.Errorf("%s: %s %s: %w", f, crd.Name, v.Name, err)
				}
				s.versions[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = cv
			}
		}
		s.Sources = append(s.Sources, f)
	}
	return s, nil
}

// Len is the number of served kinds and versions.
func (s *Set) Len() int { return len(s.versions) }

func newVersion(name string, namespaced bool, v1schema *apiextensionsv1.JSONSchemaProps) (*version, error) {
	var internal apiextensionsinternal.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1schema, &internal, nil); err != nil {
		return nil, err
	}
	st, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	sv, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &version{
		crd:        name,
		namespaced: namespaced,
		schema:     sv,
		structural: st,
		cel:        cel.NewValidator(st, true, celconfig.PerCallLimit),
	}, nil
}

// Validate runs on obj what kube-apiserver runs on a create of a custom
// resource (metadata, OpenAPI schema, list types, CEL rules), plus the
// unknown-field check of kubectl's default strict field validation.
func (s *Set) Validate(obj *unstructured.Unstructured) field.ErrorList {
	gvk := obj.GroupVersionKind()
	cv := s.versions[gvk]
	if cv == nil {
		return field.ErrorList{field.Invalid(field.NewPath("apiVersion"), gvk.GroupVersion().String()+" "+gvk.Kind, "no served version of the CRDs loaded")}
	}
	errs := apivalidation.ValidateObjectMetaAccessor(obj, cv.namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validation.ValidateCustomResource(nil, obj.UnstructuredContent(), cv.schema)...)
	unknown := pruning.PruneWithOptions(runtime.DeepCopyJSON(obj.UnstructuredContent()), cv.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(p), "", "unknown field (not in the CRD schema)"))
	}
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, cv.structural, obj.UnstructuredContent())...)
	if cv.cel != nil {
		celErrs, _ := cv.cel.Validate(context.Background(), nil, cv.structural, obj.UnstructuredContent(), nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return errs
}

// SplitYAML returns the JSON of each non-empty document of a YAML stream.
// Duplicate keys are an error, as kubectl's strict decoding makes them.
func SplitYAML(b []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
			continue
		}
		docs = append(docs, j)
	}
}

// ReadObjects decodes every document of a YAML stream as the API server
// would receive it (integers as int64).
func ReadObjects(b []byte) ([]*unstructured.Unstructured, error) {
	docs, err := SplitYAML(b)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for i, doc := range docs {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(doc); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}
