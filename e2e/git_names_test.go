//go:build e2e

package e2e

// File names that are not UTF-8 are legal in git (old repositories hold
// Latin-1 names) but cannot travel in a build definition: such steps are
// written by the git-export helper with their real bytes, and removed by
// a pattern of their bytes.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newLatin1Repo is a small repository with Latin-1 file and directory
// names and a symlink whose target is one.
func newLatin1Repo(t *testing.T) *gitRepo {
	r := newGitRepo(t)
	r.write("package.json", `{"name":"latin1","nonce":"`+gitNonce()+`"}`+"\n", 0o644)
	r.write("src/main.js", "main\n", 0o644)
	r.write("docs/caf\xe9.txt", "coffee\n", 0o644)
	r.write("r\xe9sum\xe9/cv.txt", "cv\n", 0o755)
	r.symlink("docs/caf\xe9.txt", "link")
	r.commit("init")
	return r
}

func TestGitNotUTF8Names(t *testing.T) {
	t.Parallel()
	e := env(t)
	r := newLatin1Repo(t)
	df := dappDir(t, appDappfile)
	build := func(what string) (*OCIImage, string) {
		start := time.Now()
		layout, res := buildctlOCI(t, "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
			"--local", "context="+r.dir, "--local", "dockerfile="+df,
			"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"))
		t.Logf("%s (buildctl, frontend image): %.1fs", what, time.Since(start).Seconds())
		return layout.Image(t, ""), res.Stderr
	}

	img, log := build("first build")
	require.Contains(t, log, "git-export: gitArchive /app", "the helper writes the names")
	requireAppIsArchive(t, r, img)
	require.Equal(t, "coffee\n", string(img.File(t, "/app/docs/caf\xe9.txt").Content))

	// removals and renames of such names, and a new one, in a patch
	r.remove("docs/caf\xe9.txt")
	r.rename("r\xe9sum\xe9/cv.txt", "cv.txt")
	r.write("na\xefve.txt", "naive\n", 0o644)
	r.symlink("na\xefve.txt", "link")
	r.commit("rename Latin-1 names")
	img, _ = build("second build")
	requireAppIsArchive(t, r, img)
}

// TestGitNotUTF8NamesNeedHelper: in-process without git-helper-image the
// error names the file and the option.
func TestGitNotUTF8NamesNeedHelper(t *testing.T) {
	t.Parallel()
	r := newLatin1Repo(t)
	_, _, err := solve(t, newClient(t), gitSolveOpt(t, r.dir, dappDir(t, appDappfile), nil), (&recordedBuild{}).Build)
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorContains(t, err, `has a name that is not valid UTF-8`)
	require.ErrorContains(t, err, `\xe9`)
	require.ErrorContains(t, err, "git-helper-image")
}
