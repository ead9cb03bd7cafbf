package istio

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// goList runs go list -m in this module and returns its output.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-m"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// TestIstioPinnedOnce: the Istio version is the istio.io/istio line of
// platform/go.mod, and nothing else. The API module (whose CRDs the
// manifests are validated against) is the one that Istio commit requires,
// not one raised beside it, so that the manifests are checked against the
// same API the control plane and agent under test were built with; and
// docs/deploy-istio.md names that version.
func TestIstioPinnedOnce(t *testing.T) {
	istio := goList(t, "-f", "{{.Version}}", "istio.io/istio")
	api := goList(t, "-f", "{{.Version}}", "istio.io/api")
	out, err := exec.Command("go", "mod", "graph").Output()
	if err != nil {
		t.Fatalf("go mod graph: %v", err)
	}
	want := ""
	for _, line := range strings.Split(string(out), "\n") {
		from, to, ok := strings.Cut(line, " ")
		if ok && from == "istio.io/istio@"+istio && strings.HasPrefix(to, "istio.io/api@") {
			want = strings.TrimPrefix(to, "istio.io/api@")
		}
	}
	if want == "" {
		t.Fatalf("istio.io/istio@%s requires no istio.io/api", istio)
	}
	if api != want {
		t.Errorf("istio.io/api is %s, but istio.io/istio@%s requires %s: bump Istio with\n"+
			"  go -C platform get istio.io/istio@<commit> && go -C platform mod tidy\n"+
			"and let it choose istio.io/api (see docs/deploy-istio.md)", api, istio, want)
	}
	doc, err := os.ReadFile("../../docs/deploy-istio.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "istio.io/istio "+istio) {
		t.Errorf("docs/deploy-istio.md does not name the pinned istio.io/istio %s", istio)
	}
	t.Logf("istio.io/istio %s, istio.io/api %s", istio, api)
}
