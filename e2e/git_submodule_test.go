//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fileProtocol lets git 2.38+ clone a submodule from a local path.
var fileProtocol = []string{"-c", "protocol.file.allow=always"}

// archiveWithSubmodule is what `git archive --recurse-submodules` would
// give for HEAD if git had it: the superproject's archive with the
// submodule's archive of its recorded commit under sub.
func archiveWithSubmodule(t *testing.T, r, lib *gitRepo, sub string) map[string]string {
	t.Helper()
	want := gitArchiveAt(t, r.dir, "HEAD")
	for name, d := range gitArchiveAt(t, lib.dir, r.git("rev-parse", "HEAD:"+sub)) {
		want[sub+"/"+name] = d
	}
	return want
}

// TestGitSubmodule: a submodule of the context's repository is built at
// the commit the superproject records, and moving that commit adds one
// small layer with the submodule's changed files and keeps install cached.
func TestGitSubmodule(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	lib := newGitRepo(t)
	lib.write("index.js", "// "+gitNonce()+"\n", 0o644)
	lib.write("util/fmt.js", sourceText(8<<10), 0o644)
	lib.write("util/big.bin", noise(256<<10), 0o644)
	lib.write("bin/tool", "#!/bin/sh\necho tool\n", 0o755)
	lib.symlink("index.js", "main.js")
	lib.commit("lib")

	r := newAppRepo(t)
	r.git(append(fileProtocol, "submodule", "add", "-q", lib.dir, "lib")...)
	// a reset puts lib into the archive, so the bump below is the whole
	// latest patch
	r.commit("add lib [dapp reset]")
	df := dappDir(t, appDappfile)
	img0, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 1, ranCount(prog, "[app] install"))
	requireAppIs(t, archiveWithSubmodule(t, r, lib, "lib"), img0)

	lib.write("util/fmt.js", "module.exports = 2\n", 0o644)
	lib.commit("lib change")
	sub := &gitRepo{t: t, dir: filepath.Join(r.dir, "lib"), clock: r.clock}
	sub.git(append(fileProtocol, "fetch", "-q", "origin")...)
	sub.git("checkout", "-q", lib.git("rev-parse", "HEAD"))
	r.commit("bump lib")

	img1, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 0, ranCount(prog, "[app] install"))
	require.True(t, prog.Cached(t, "[app] install"), "install is a cache hit:\n%s", prog.Dump())
	requireAppIs(t, archiveWithSubmodule(t, r, lib, "lib"), img1)
	added := newLayers(img0, img1)
	require.Len(t, added, 1, "exactly one new layer")
	layer := img1.Layers[added[0]]
	t.Logf("new layer: %d bytes uncompressed, entries %v", layer.UncompressedSize, layer.Paths())
	require.Less(t, layer.UncompressedSize, int64(64<<10))
	var files []string
	for _, p := range layer.Paths() {
		if !strings.HasSuffix(p, "/") {
			files = append(files, p)
		}
	}
	require.Contains(t, strings.Join(files, " "), "app/lib/util/fmt.js")
	require.NotContains(t, strings.Join(files, " "), "big.bin")
}
