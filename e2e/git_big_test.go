//go:build e2e

package e2e

// Repositories bigger than the inline limit (8 MiB of sources per point of
// the chain): the archive is written by the frontend binary's git-export
// helper in an ExecOp and copied in, through the frontend image (the
// helper is CurrentFrontend()) and in-process (the helper is the image
// named by git-helper-image). The result must be what inline gives for
// small repositories: `git archive HEAD`, cache kept across an unrelated
// commit, small latest patches.

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seededText is n bytes of source-like text, the same on every run for
// the same seed, so file hashes are fixed.
func seededText(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0x6769742d626967))
	raw := make([]byte, n*3/4)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	return commentLines(raw)
}

// newBigRepo is newAppRepo's layout grown past the inline limit: 12.8 MB
// of text in 50 files, 1 MiB of binary, an executable and symlinks. Only
// package.json (install's dependency) carries the run's nonce.
func newBigRepo(t *testing.T) *gitRepo {
	r := newGitRepo(t)
	r.write("package.json", `{"name":"big","nonce":"`+gitNonce()+`"}`+"\n", 0o644)
	for i := range 50 {
		r.write(fmt.Sprintf("src/gen/mod%02d.js", i), seededText(uint64(i), 256<<10), 0o644)
	}
	r.write("assets/blob.bin", "\x00\xff"+seededText(1000, 1<<20)[:1<<20], 0o644)
	r.write("bin/run.sh", "#!/bin/sh\nexec node /app/src/main.js\n", 0o755)
	r.write("src/main.js", "require('./gen/mod00.js')\n", 0o644)
	r.symlink("src/main.js", "current")
	r.symlink("../assets/blob.bin", "src/blob")
	r.commit("init")
	return r
}

// bigCommit is the unrelated small commit after the first build.
func bigCommit(r *gitRepo) {
	r.write("src/main.js", "require('./gen/mod01.js')\n", 0o644)
	r.write("src/small.js", "small\n", 0o644)
	r.commit("small unrelated change")
}

// requireSmallLatestPatch: next has exactly one layer prev lacks, the
// last one, small, and every earlier layer digest is unchanged.
func requireSmallLatestPatch(t *testing.T, prev, next *OCIImage) {
	t.Helper()
	added := newLayers(prev, next)
	require.Len(t, added, 1, "exactly one new layer")
	i := added[0]
	require.Equal(t, len(next.Layers)-1, i, "the new layer is the last one")
	require.Equal(t, prev.LayerDigests()[:i], next.LayerDigests()[:i], "every other layer keeps its digest")
	require.Less(t, next.Layers[i].UncompressedSize, int64(64<<10))
}

// requireBigArchiveLayer: some layer holds the whole (>12 MiB) archive.
func requireBigArchiveLayer(t *testing.T, img *OCIImage) {
	t.Helper()
	var biggest int64
	for _, l := range img.Layers {
		biggest = max(biggest, l.UncompressedSize)
	}
	require.Greater(t, biggest, int64(12<<20), "the archive layer: %v", img.LayerSizes())
}

func TestGitBigRepoInProcess(t *testing.T) {
	t.Parallel()
	e := env(t)
	c := newClient(t)
	r := newBigRepo(t)
	df := dappDir(t, appDappfile)
	attrs := map[string]string{"git-helper-image": e.FrontendImage()}

	start := time.Now()
	img, prog, _ := dappBuild(t, c, r.dir, df, attrs)
	t.Logf("first build (in-process, helper image): %.1fs", time.Since(start).Seconds())
	require.NotEmpty(t, prog.Find("git-export: gitArchive /app"), "the archive goes through the helper:\n%s", prog.Dump())
	requireAppIsArchive(t, r, img)
	requireBigArchiveLayer(t, img)

	bigCommit(r)
	start = time.Now()
	img2, prog, _ := dappBuild(t, c, r.dir, df, attrs)
	t.Logf("second build (in-process, after a small commit): %.1fs", time.Since(start).Seconds())
	require.True(t, prog.Cached(t, "[app] install"), "install is a cache hit:\n%s", prog.Dump())
	require.True(t, prog.Cached(t, "[app] gitArchive"), "the copied archive has the same content")
	// the helper reads only the archive's objects, which the commit left
	// as they were: its step is not run again
	require.True(t, prog.Cached(t, "git-export: gitArchive /app"), "the archive's git-export is a cache hit:\n%s", prog.Dump())
	requireAppIsArchive(t, r, img2)
	requireSmallLatestPatch(t, img, img2)
}

func TestGitBigRepoFrontendImage(t *testing.T) {
	t.Parallel()
	e := env(t)
	r := newBigRepo(t)
	df := dappDir(t, appDappfile)
	build := func(what string) (*OCIImage, string) {
		start := time.Now()
		layout, res := buildctlOCI(t, "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
			"--local", "context="+r.dir, "--local", "dockerfile="+df,
			"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"))
		img := layout.Image(t, "")
		t.Logf("%s (buildctl, frontend image): %.1fs, layers %v", what, time.Since(start).Seconds(), img.LayerSizes())
		return img, res.Stderr
	}

	img, log := build("first build")
	require.Contains(t, log, "git-export: gitArchive /app", "the archive goes through the helper")
	requireAppIsArchive(t, r, img)
	requireBigArchiveLayer(t, img)

	bigCommit(r)
	img2, log := build("second build")
	require.True(t, plainCached(t, log, "[app] install"), "install is a cache hit:\n%s", tail(log, 8000))
	require.True(t, plainCached(t, log, "git-export: gitArchive /app"), "the archive's git-export is a cache hit:\n%s", tail(log, 8000))
	requireAppIsArchive(t, r, img2)
	requireSmallLatestPatch(t, img, img2)
}

// TestGitBigRepoNeedsHelper: in-process without git-helper-image, the
// over-limit archive fails with an error that names the option.
func TestGitBigRepoNeedsHelper(t *testing.T) {
	t.Parallel()
	r := newBigRepo(t)
	_, _, err := solve(t, newClient(t), gitSolveOpt(t, r.dir, dappDir(t, appDappfile), nil), (&recordedBuild{}).Build)
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorContains(t, err, "git-helper-image")
	require.ErrorContains(t, err, "more than the 8388608 bytes")
}

// plainCached reports whether the vertex whose name contains name was a
// cache hit in buildctl's plain progress ("#N name" … "#N CACHED").
func plainCached(t *testing.T, log, name string) bool {
	t.Helper()
	re := regexp.MustCompile(`(?m)^#(\d+) (.*)$`)
	id := ""
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		if id == "" && strings.Contains(m[2], name) {
			id = m[1]
		}
		if id != "" && m[1] == id && m[2] == "CACHED" {
			return true
		}
	}
	require.NotEmpty(t, id, "no vertex %q in:\n%s", name, tail(log, 8000))
	return false
}
