package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// variantBuild is a build of the filter other than the one under test: the
// file named by $env, or built from this checkout (cmd/wasmbuild with flags)
// on first use.
type variantBuild struct {
	env   string
	name  string
	flags []string

	once sync.Once
	p    string
	err  error
}

func (v *variantBuild) path(t *testing.T) string {
	t.Helper()
	v.once.Do(func() {
		if p := os.Getenv(v.env); p != "" {
			v.p, v.err = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "edgejwt-variant-")
		if err != nil {
			v.err = err
			return
		}
		v.p = filepath.Join(dir, v.name)
		cmd := exec.Command("go", append([]string{"run", "./cmd/wasmbuild", "-o", v.p}, v.flags...)...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			v.err = fmt.Errorf("building %s: %v\n%s", v.name, err, out)
		}
	})
	if v.err != nil {
		t.Fatal(v.err)
	}
	return v.p
}
