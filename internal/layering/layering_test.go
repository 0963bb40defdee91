package layering

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/flant/dapp-frontend/"

// forbidden lists, per package, import path prefixes none of its
// dependencies (direct or not) may have.
var forbidden = map[string][]string{
	// the model, the stage order and the git planning are pure: they are
	// tested and reused without a BuildKit client or gateway
	"dappfile":  {"github.com/moby/buildkit/client", "github.com/moby/buildkit/frontend/gateway"},
	"stages":    {"github.com/moby/buildkit/client", "github.com/moby/buildkit/frontend/gateway"},
	"gitsource": {"github.com/moby/buildkit/client", "github.com/moby/buildkit/frontend/gateway"},
	// cachemounts decides, llb emits
	"cachemounts": {"github.com/moby/buildkit"},
	// frontend is the only package that talks to the gateway
	"llb":        {"github.com/moby/buildkit/frontend/gateway", module + "frontend"},
	"llb/gitllb": {"github.com/moby/buildkit/frontend/gateway", module + "frontend", module + "llb"},
}

func TestPackageArrows(t *testing.T) {
	t.Parallel()
	for pkg, prefixes := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			for _, dep := range deps(t, module+pkg) {
				for _, p := range prefixes {
					if dep == p || strings.HasPrefix(dep, p+"/") {
						t.Errorf("%s depends on %s (via go list -deps); it must not import %s", pkg, dep, p)
					}
				}
			}
		})
	}
}

// deps are the import paths pkg depends on, itself excluded, from
// `go list -deps` (tests are not included: they may use anything).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
	require.NoError(t, err, "go list -deps %s: %s", pkg, out)
	var list []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != pkg {
			list = append(list, line)
		}
	}
	require.NotEmpty(t, list, "go list printed no dependencies of %s", pkg)
	return list
}
