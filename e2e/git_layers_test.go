//go:build e2e

package e2e

// End-to-end proof of the git feature (DESIGN.md "Git: what must hold",
// R1–R5, remote mappings, dev mode) through the product: every build runs
// frontend.Build (in process, or the frontend image with buildctl) on a
// real Dappfile. The Dappfile lives in a directory of its own, passed as
// the `dockerfile` local, and the test's git repository is the `context`
// local, so editing the Dappfile is never a commit. The assertions are on
// what a user gets: the exported image's layers and files, and which steps
// ran or came from the cache.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// gitRepo is a repository written with the git CLI; commit dates tick one
// minute from a fixed Tuesday so every run has the same hashes and all
// commits fall into one archive period (a week).
type gitRepo struct {
	t     testing.TB
	dir   string
	clock time.Time
}

func newGitRepo(t testing.TB) *gitRepo {
	r := &gitRepo{t: t, dir: t.TempDir(), clock: time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	date := r.clock.Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) write(rel, content string, mode os.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.t, os.WriteFile(p, []byte(content), mode))
	require.NoError(r.t, os.Chmod(p, mode))
}

func (r *gitRepo) chmod(rel string, mode os.FileMode) {
	r.t.Helper()
	require.NoError(r.t, os.Chmod(filepath.Join(r.dir, rel), mode))
}

func (r *gitRepo) rename(from, to string) {
	r.t.Helper()
	require.NoError(r.t, os.MkdirAll(filepath.Dir(filepath.Join(r.dir, to)), 0o755))
	require.NoError(r.t, os.Rename(filepath.Join(r.dir, from), filepath.Join(r.dir, to)))
}

func (r *gitRepo) remove(rel string) {
	r.t.Helper()
	require.NoError(r.t, os.RemoveAll(filepath.Join(r.dir, rel)))
}

func (r *gitRepo) symlink(target, rel string) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	_ = os.Remove(p)
	require.NoError(r.t, os.Symlink(target, p))
}

func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	r.clock = r.clock.Add(time.Minute)
	return r.git("rev-parse", "HEAD")
}

// gitNonce makes this run's sources unique, so the first build of a test
// never hits cache left by an earlier run (the commit dates are fixed).
func gitNonce() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

// noiseSeq makes every noise call of a run different.
var noiseSeq atomic.Uint64

// noise is n bytes that do not compress.
func noise(n int) string {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), noiseSeq.Add(1)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// sourceText is about n bytes of text in 76-column lines, like a source file.
func sourceText(n int) string {
	return commentLines([]byte(noise(n * 3 / 4)))
}

// commentLines encodes raw as base64 comment lines of 76 columns.
func commentLines(raw []byte) string {
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString("// " + enc[:k] + "\n")
		enc = enc[k:]
	}
	return b.String()
}

// newAppRepo is the application repository of most tests: 2.2 MB of
// sources, a package.json that install depends on, binary files, symlinks
// and an executable, in one commit.
func newAppRepo(t testing.TB) *gitRepo {
	r := newGitRepo(t)
	r.write("package.json", `{"name":"app","nonce":"`+gitNonce()+`","dependencies":{"left-pad":"1.3.0"}}`+"\n", 0o644)
	for i := range 16 {
		r.write(fmt.Sprintf("src/mod%02d.js", i), sourceText(128<<10), 0o644)
	}
	r.write("src/main.js", "require('./mod00.js')\n", 0o644)
	r.write("src/util/only.js", "module.exports = 1\n", 0o644)
	r.write("assets/logo.png", "\x89PNG\r\n\x1a\n\x00"+noise(64<<10), 0o644)
	r.write("assets/data.bin", "\x00\x01\x02\x03\xff", 0o644)
	r.write("bin/run.sh", "#!/bin/sh\nexec node /app/src/main.js \"$@\"\n", 0o755)
	r.write("tools/lint.sh", "#!/bin/sh\necho lint\n", 0o644)
	r.write("docs/a/b/c.md", "deep\n", 0o644)
	r.symlink("src/main.js", "current")
	r.symlink("../assets/logo.png", "src/logo.png")
	r.commit("init")
	return r
}

// appDappfile maps the whole repository to /app, owned by app:app
// (uid/gid 1000 in the test busybox), with install depending on
// package.json.
const appDappfile = `dimg: app
from: busybox:latest
git:
- add: /
  to: /app
  owner: app
  group: app
  stageDependencies:
    install: [package.json]
shell:
  install:
  - cp /app/package.json /installed.json
  setup:
  - ls -l /app > /setup.txt
`

// dappDir writes a Dappfile into a directory of its own (the `dockerfile`
// local): never part of the repository under test.
func dappDir(t testing.TB, dappfile string) string {
	return writeTree(t, map[string]string{"Dappfile": dappfile})
}

// gitSolveOpt runs frontend.Build in process with ctxDir as the context
// and dfDir as the dockerfile local; busybox:latest comes from the test
// registry.
func gitSolveOpt(t testing.TB, ctxDir, dfDir string, attrs map[string]string) client.SolveOpt {
	fa := env(t).BaseImageContexts()
	for k, v := range attrs {
		fa[k] = v
	}
	return client.SolveOpt{
		FrontendAttrs: fa,
		LocalMounts:   localMounts(t, map[string]string{"context": ctxDir, "dockerfile": dfDir}),
	}
}

// recorder wraps the gateway client frontend.Build gets and keeps every
// definition it solves; the last one is the image.
type recorder struct {
	gwclient.Client
	mu   *sync.Mutex
	defs *[]*pb.Definition
}

func (r recorder) Solve(ctx context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	if req.Definition != nil {
		r.mu.Lock()
		*r.defs = append(*r.defs, req.Definition)
		r.mu.Unlock()
	}
	return r.Client.Solve(ctx, req)
}

// recordedBuild is frontend.Build with its solved definitions recorded.
type recordedBuild struct {
	mu   sync.Mutex
	defs []*pb.Definition
}

func (rb *recordedBuild) Build(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
	return frontend.Build(ctx, recorder{Client: c, mu: &rb.mu, defs: &rb.defs})
}

// imageOps are the LLB digests (one per op) of the image definition.
func (rb *recordedBuild) imageOps(t *testing.T) []digest.Digest {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	require.NotEmpty(t, rb.defs)
	var out []digest.Digest
	for _, dt := range rb.defs[len(rb.defs)-1].Def {
		out = append(out, digest.FromBytes(dt))
	}
	return out
}

// sources lists the source ops of the image definition.
func (rb *recordedBuild) sources(t *testing.T) []*pb.SourceOp {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	require.NotEmpty(t, rb.defs)
	var out []*pb.SourceOp
	for _, dt := range rb.defs[len(rb.defs)-1].Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if s := op.GetSource(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// dappBuild builds the Dappfile in df on the repository r through
// frontend.Build and logs how long it took.
func dappBuild(t testing.TB, c *client.Client, ctxDir, df string, attrs map[string]string) (*OCIImage, *Progress, *recordedBuild) {
	t.Helper()
	rb := &recordedBuild{}
	start := time.Now()
	img, prog := solveOCI(t, c, gitSolveOpt(t, ctxDir, df, attrs), rb.Build)
	t.Logf("build took %.1fs, layers (uncompressed bytes): %v", time.Since(start).Seconds(), img.LayerSizes())
	return img, prog, rb
}

// ranCount is how many vertices whose name contains name executed.
func ranCount(prog *Progress, name string) int {
	n := 0
	for _, v := range prog.Find(name) {
		if v.Ran() {
			n++
		}
	}
	return n
}

// newLayers are the layers of img that base does not have.
func newLayers(base, img *OCIImage) []int {
	have := map[digest.Digest]bool{}
	for _, d := range base.DiffIDs() {
		have[d] = true
	}
	var out []int
	for i, d := range img.DiffIDs() {
		if !have[d] {
			out = append(out, i)
		}
	}
	return out
}

// TestGitUnrelatedCommitKeepsInstall (R1): a commit outside install's
// stageDependencies leaves install cached; changing package.json runs it
// once; the next unrelated commit leaves it cached again.
func TestGitUnrelatedCommitKeepsInstall(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newAppRepo(t)
	df := dappDir(t, appDappfile)
	img, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 1, ranCount(prog, "[app] install"))
	require.Equal(t, r.git("show", "HEAD:package.json")+"\n", string(img.File(t, "/installed.json").Content))

	r.write("src/main.js", "require('./mod01.js')\n", 0o644)
	r.commit("unrelated")
	img, prog, _ = dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 0, ranCount(prog, "[app] install"))
	require.True(t, prog.Cached(t, "[app] install"), "install is a cache hit:\n%s", prog.Dump())
	require.True(t, prog.Cached(t, "[app] setup"), "the latest patch comes after setup")
	require.Equal(t, "require('./mod01.js')\n", string(img.File(t, "/app/src/main.js").Content))

	deps := `{"name":"app","nonce":"` + gitNonce() + `","dependencies":{"left-pad":"1.3.1"}}` + "\n"
	r.write("package.json", deps, 0o644)
	r.commit("dependencies")
	img, prog, _ = dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 1, ranCount(prog, "[app] install"), "install runs once:\n%s", prog.Dump())
	require.NotEmpty(t, prog.Find("[app] gitPatch: before install"))
	require.Equal(t, deps, string(img.File(t, "/installed.json").Content), "install saw the new package.json")

	r.write("src/other.js", "other\n", 0o644)
	r.commit("unrelated again")
	img, prog, _ = dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, 0, ranCount(prog, "[app] install"))
	require.True(t, prog.Cached(t, "[app] install"))
	require.True(t, img.Exists(t, "/app/src/other.js"))
}

// TestGitSmallCommitSmallLayer (R2): a commit of 10 KB gives an image with
// exactly one layer the previous image lacks, of at most 10 KB + 64 KB,
// and every other layer digest unchanged — whether the previous image had
// a latest patch or not.
func TestGitSmallCommitSmallLayer(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newAppRepo(t)
	df := dappDir(t, appDappfile)
	img0, _, _ := dappBuild(t, c, r.dir, df, nil)

	check := func(prev, next *OCIImage, layers int) {
		t.Helper()
		require.Len(t, next.Layers, layers)
		added := newLayers(prev, next)
		require.Len(t, added, 1, "exactly one new layer")
		i := added[0]
		require.Equal(t, len(next.Layers)-1, i, "the new layer is the last one")
		require.Equal(t, prev.LayerDigests()[:i], next.LayerDigests()[:i], "every other layer keeps its digest")
		size := next.Layers[i].UncompressedSize
		t.Logf("new layer: %d bytes uncompressed, %d compressed, entries %v", size, next.Layers[i].Descriptor.Size, next.Layers[i].Paths())
		require.LessOrEqual(t, size, int64(10<<10+64<<10))
	}

	r.write("src/feature.js", sourceText(10<<10), 0o644)
	r.commit("10 KB feature")
	img1, _, _ := dappBuild(t, c, r.dir, df, nil)
	check(img0, img1, len(img0.Layers)+1)

	r.write("src/feature2.js", sourceText(5<<10), 0o644)
	r.write("src/mod03.js", "// rewritten\n"+sourceText(5<<10), 0o644)
	r.commit("10 KB more: a new file, a rewritten one")
	img2, _, _ := dappBuild(t, c, r.dir, df, nil)
	check(img1, img2, len(img1.Layers))
	require.Len(t, newLayers(img2, img1), 1, "the previous latest patch is the only layer dropped")
}

// TestGitCacheLayer (R3): once more than 1 MiB has accumulated since the
// archive, the change becomes a gitCache layer, the latest patch starts
// anew and shrinks back to the size of the newest change.
func TestGitCacheLayer(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newAppRepo(t)
	df := dappDir(t, appDappfile)
	img0, _, _ := dappBuild(t, c, r.dir, df, nil)
	n := len(img0.Layers)

	var latest []int64
	var img *OCIImage
	for i := range 2 {
		r.write(fmt.Sprintf("assets/chunk%d.bin", i), noise(400<<10), 0o644)
		r.commit(fmt.Sprintf("400 KB #%d", i))
		var prog *Progress
		img, prog, _ = dappBuild(t, c, r.dir, df, nil)
		require.Len(t, img.Layers, n+1, "a latest patch, no gitCache")
		require.Empty(t, prog.Find("[app] gitCache"))
		require.Equal(t, img0.LayerDigests(), img.LayerDigests()[:n])
		latest = append(latest, img.Layers[n].UncompressedSize)
	}
	require.Greater(t, latest[1], int64(800<<10), "the latest patch grows with every commit")

	r.write("assets/chunk2.bin", noise(400<<10), 0o644)
	r.commit("400 KB #2: 1.2 MB since the archive")
	img3, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.NotEmpty(t, prog.Find("[app] gitCache"), "gitCache appears:\n%s", prog.Dump())
	require.Empty(t, prog.Find("[app] gitLatestPatch"), "nothing changed since the cut")
	require.Len(t, img3.Layers, n+1)
	require.Equal(t, img0.LayerDigests(), img3.LayerDigests()[:n])
	cache := img3.Layers[n].UncompressedSize
	require.Greater(t, cache, int64(1200<<10))
	require.True(t, prog.Cached(t, "[app] install") && prog.Cached(t, "[app] setup"))

	r.write("src/small.js", "small\n", 0o644)
	r.commit("small")
	img4, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.NotEmpty(t, prog.Find("[app] gitLatestPatch"))
	require.Len(t, img4.Layers, n+2)
	require.Equal(t, img3.LayerDigests(), img4.LayerDigests()[:n+1], "gitCache stays")
	small := img4.Layers[n+1].UncompressedSize
	require.Less(t, small, int64(64<<10), "the latest patch shrank back")
	t.Logf("R3 figures: latest patch %d → %d bytes, gitCache %d bytes, latest patch after the cut %d bytes", latest[0], latest[1], cache, small)
}

// TestGitTreeMatchesGitArchive (R5): after deletions (one emptying a
// directory), renames, chmod +x, a symlink re-point, binary edits and type
// changes, /app is `git archive HEAD` byte for byte — content, modes,
// symlink targets, nothing extra — owned by app:app.
func TestGitTreeMatchesGitArchive(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newAppRepo(t)
	df := dappDir(t, appDappfile)
	img, _, _ := dappBuild(t, c, r.dir, df, nil)
	requireAppIsArchive(t, r, img)

	r.remove("src/mod07.js")
	r.remove("src/util/only.js")
	r.rename("src/mod08.js", "lib/mod08.js")
	r.chmod("tools/lint.sh", 0o755)
	r.chmod("bin/run.sh", 0o644)
	r.symlink("../lib/mod08.js", "src/logo.png")
	r.symlink("src/mod01.js", "current")
	r.write("assets/data.bin", "\xff\x00\x01\x02\x03\x00", 0o644)
	r.commit("mixed changes")
	img, _, _ = dappBuild(t, c, r.dir, df, nil)
	requireAppIsArchive(t, r, img)

	r.remove("docs")
	r.write("docs", "docs is a file now\n", 0o644)
	r.remove("assets/logo.png")
	r.symlink("data.bin", "assets/logo.png")
	r.remove("current")
	r.write("current/README", "a directory where a symlink was\n", 0o644)
	r.commit("type changes")
	img, _, _ = dappBuild(t, c, r.dir, df, nil)
	requireAppIsArchive(t, r, img)
}

// requireAppIsArchive compares /app in img with `git archive HEAD` of r,
// and checks every file under /app belongs to uid/gid 1000.
func requireAppIsArchive(t *testing.T, r *gitRepo, img *OCIImage) {
	t.Helper()
	requireAppIs(t, gitArchiveFiles(t, r), img)
}

// requireAppIs checks that /app holds exactly want (describeFile's form),
// everything owned by app:app.
func requireAppIs(t *testing.T, want map[string]string, img *OCIImage) {
	t.Helper()
	got := map[string]string{}
	for _, f := range img.Files(t) {
		if !strings.HasPrefix(f.Path, "/app/") {
			continue
		}
		require.Equal(t, 1000, f.UID, "%s owner", f.Path)
		require.Equal(t, 1000, f.GID, "%s group", f.Path)
		got[strings.TrimPrefix(f.Path, "/app/")] = describeFile(f.Mode, f.Linkname, f.Content)
	}
	require.Equal(t, len(want), len(got), "same number of entries")
	require.Equal(t, want, got)
}

func describeFile(mode os.FileMode, link string, content []byte) string {
	switch {
	case mode.IsDir():
		return "dir"
	case mode&os.ModeSymlink != 0:
		return "-> " + link
	}
	return fmt.Sprintf("%o %d %s", mode.Perm(), len(content), digest.FromBytes(content))
}

func gitArchiveFiles(t *testing.T, r *gitRepo) map[string]string {
	t.Helper()
	return gitArchiveAt(t, r.dir, "HEAD")
}

// gitArchiveAt is `git archive rev` in dir, in describeFile's form.
func gitArchiveAt(t *testing.T, dir, rev string) map[string]string {
	t.Helper()
	cmd := exec.Command("git", "archive", rev)
	cmd.Dir = dir
	dt, err := cmd.Output()
	require.NoError(t, err)
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(dt))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		name := strings.TrimSuffix(hdr.Name, "/")
		switch hdr.Typeflag {
		case tar.TypeDir:
			out[name] = "dir"
		case tar.TypeSymlink:
			out[name] = "-> " + hdr.Linkname
		case tar.TypeReg:
			body, err := io.ReadAll(tr)
			require.NoError(t, err)
			// git keeps one bit of a mode: 100755 or 100644 (git archive
			// applies its tar.umask, 002, on top)
			mode := os.FileMode(0o644)
			if hdr.Mode&0o100 != 0 {
				mode = 0o755
			}
			out[name] = describeFile(mode, "", body)
		}
	}
}

// TestGitClonesBuildTheSame (R4): the same repository state in two clones
// (one with loose objects, one packed, at different paths and times) gives
// the same LLB digests and the same image layers.
func TestGitClonesBuildTheSame(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newAppRepo(t)
	r.write("src/b.js", "b\n", 0o644)
	r.commit("second")
	r.write("package.json", `{"name":"app","nonce":"`+gitNonce()+`"}`+"\n", 0o644)
	r.commit("deps")
	r.write("src/c.js", "c\n", 0o644)
	r.commit("third")
	clone := &gitRepo{t: t, dir: t.TempDir(), clock: r.clock}
	clone.git("clone", "-q", "--no-local", r.dir, ".")
	require.Equal(t, r.git("rev-parse", "HEAD"), clone.git("rev-parse", "HEAD"))

	df := dappDir(t, appDappfile)
	img1, _, rb1 := dappBuild(t, c, r.dir, df, nil)
	img2, prog2, rb2 := dappBuild(t, c, clone.dir, dappDir(t, appDappfile), nil)
	ops1, ops2 := rb1.imageOps(t), rb2.imageOps(t)
	require.Equal(t, ops1, ops2, "same LLB digests")
	require.Equal(t, img1.LayerDigests(), img2.LayerDigests(), "same layers")
	require.Equal(t, img1.Descriptor.Digest, img2.Descriptor.Digest, "same manifest")
	for _, name := range []string{"[app] gitArchive", "[app] gitPatch: before install", "[app] install", "[app] setup", "[app] gitLatestPatch"} {
		require.True(t, prog2.Cached(t, name), "%s is a cache hit for the clone", name)
	}
	t.Logf("R4: %d ops, image %s", len(ops1), img1.Descriptor.Digest)
}

// TestGitDevMode: `dev=true` builds the working tree (uncommitted and
// untracked changes included); the default builds the committed state.
func TestGitDevMode(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`+"\n", 0o644)
	r.write("src/main.js", "committed\n", 0o644)
	r.commit("init")
	r.write("src/main.js", "uncommitted\n", 0o644)
	r.write("src/new.js", "untracked\n", 0o644)
	df := dappDir(t, appDappfile)

	img, prog, _ := dappBuild(t, c, r.dir, df, nil)
	require.Equal(t, "committed\n", string(img.File(t, "/app/src/main.js").Content))
	require.False(t, img.Exists(t, "/app/src/new.js"))
	require.True(t, slices.ContainsFunc(prog.Warnings(), func(w string) bool {
		return strings.Contains(w, "uncommitted change(s) are not built")
	}), "the default mode warns about what it leaves out: %v", prog.Warnings())

	img, _, _ = dappBuild(t, c, r.dir, df, map[string]string{"dev": "true"})
	requireFile(t, img, "/app/src/main.js", 0o644, 1000, "uncommitted\n")
	requireFile(t, img, "/app/src/new.js", 0o644, 1000, "untracked\n")
	require.False(t, img.Exists(t, "/app/.git"), "dev mode leaves .git out")
}

// TestGitNotARepository: a local mapping on a context without .git fails
// with an error that says so and points at the mapping in the Dappfile.
func TestGitNotARepository(t *testing.T) {
	t.Parallel()
	ctxDir := writeTree(t, map[string]string{"package.json": "{}\n"})
	_, _, err := solve(t, newClient(t), gitSolveOpt(t, ctxDir, dappDir(t, appDappfile), nil), frontend.Build)
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorContains(t, err, "not a git repository")
	srcs := errdefs.Sources(err)
	require.NotEmpty(t, srcs, "the error carries its Dappfile location: %v", err)
	require.Equal(t, "Dappfile", srcs[0].Info.Filename)
	require.Equal(t, int32(4), srcs[0].Ranges[0].Start.Line, "the git mapping's line")
}

// TestGitFrontendImage: the frontend image run by buildctl (gateway.v0)
// reads the context's .git through the gateway too and builds the
// committed state.
func TestGitFrontendImage(t *testing.T) {
	t.Parallel()
	e := env(t)
	r := newAppRepo(t)
	r.write("src/feature.js", "feature\n", 0o644)
	r.remove("src/mod02.js")
	r.commit("second")
	r.write("src/main.js", "uncommitted\n", 0o644)
	df := dappDir(t, appDappfile)
	start := time.Now()
	layout, _ := buildctlOCI(t, "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
		"--local", "context="+r.dir, "--local", "dockerfile="+df,
		"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"))
	img := layout.Image(t, "")
	t.Logf("buildctl build took %.1fs, layers %v", time.Since(start).Seconds(), img.LayerSizes())
	r.git("checkout", "--", "src/main.js")
	requireAppIsArchive(t, r, img)
	require.Equal(t, r.git("show", "HEAD:package.json")+"\n", string(img.File(t, "/installed.json").Content))
}

// gitDaemon serves the repositories under base over git:// on a free
// loopback port until the test ends.
func gitDaemon(t *testing.T, base string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command("git", "daemon", "--export-all", "--base-path="+base, "--port="+strconv.Itoa(port),
		"--listen=127.0.0.1", "--reuseaddr", base)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// the daemon and the upload-pack children it forked, by process group id
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("git daemon log:\n%s", log.String())
		}
	})
	url := fmt.Sprintf("git://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return url
		}
		require.True(t, time.Now().Before(deadline), "git daemon does not listen: %s", log.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGitRemoteMapping: mappings with url: on a git daemon the test runs,
// by tag and by branch. The branch is pinned to its commit in the LLB, and
// a new commit on it brings new content on rebuild; the tag stays.
func TestGitRemoteMapping(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	lib := newGitRepo(t)
	nonce := gitNonce()
	lib.write("VERSION", "1 "+nonce+"\n", 0o644)
	lib.write("bin/tool", "#!/bin/sh\necho tool\n", 0o755)
	lib.symlink("bin/tool", "tool")
	lib.commit("v1")
	lib.git("tag", "-a", "v1", "-m", "release 1")
	lib.write("VERSION", "2 "+nonce+"\n", 0o644)
	head2 := lib.commit("v2")
	url := gitDaemon(t, filepath.Dir(lib.dir)) + "/" + filepath.Base(lib.dir)

	df := dappDir(t, fmt.Sprintf(`dimg: app
from: busybox:latest
git:
- url: %[1]s
  tag: v1
  to: /opt/lib-tag
- url: %[1]s
  branch: main
  add: /
  to: /opt/lib-main
  owner: app
shell:
  setup:
  - cat /opt/lib-tag/VERSION /opt/lib-main/VERSION > /versions
`, url))
	ctxDir := t.TempDir() // remote mappings only: the context needs no .git
	img, _, rb := dappBuild(t, c, ctxDir, df, nil)
	requireFile(t, img, "/opt/lib-tag/VERSION", 0o644, 0, "1 "+nonce+"\n")
	requireFile(t, img, "/opt/lib-tag/bin/tool", 0o755, 0, "#!/bin/sh\necho tool\n")
	require.Equal(t, "bin/tool", img.File(t, "/opt/lib-tag/tool").Linkname)
	requireFile(t, img, "/opt/lib-main/VERSION", 0o644, 1000, "2 "+nonce+"\n")
	require.False(t, img.Exists(t, "/opt/lib-main/.git"))
	require.Equal(t, "1 "+nonce+"\n2 "+nonce+"\n", string(img.File(t, "/versions").Content))
	requireGitPinned(t, rb, url, "main", head2)

	lib.write("VERSION", "3 "+nonce+"\n", 0o644)
	head3 := lib.commit("v3")
	img, prog, rb := dappBuild(t, c, ctxDir, df, nil)
	requireFile(t, img, "/opt/lib-main/VERSION", 0o644, 1000, "3 "+nonce+"\n")
	requireFile(t, img, "/opt/lib-tag/VERSION", 0o644, 0, "1 "+nonce+"\n")
	require.True(t, prog.Ran(t, "[app] setup"), "the new branch commit reruns setup")
	requireGitPinned(t, rb, url, "main", head3)
}

// requireGitPinned checks that the git source of url at ref in the image
// definition carries commit as its checksum.
func requireGitPinned(t *testing.T, rb *recordedBuild, url, ref, commit string) {
	t.Helper()
	var ids []string
	for _, s := range rb.sources(t) {
		ids = append(ids, s.Identifier)
		if strings.Contains(s.Identifier, strings.TrimPrefix(url, "git://")) && strings.HasSuffix(s.Identifier, "#"+ref) {
			require.Equal(t, commit, s.Attrs[pb.AttrGitChecksum], "%s is pinned", s.Identifier)
			return
		}
	}
	t.Fatalf("no git source for %s#%s among %v", url, ref, ids)
}

// TestGitBigFileCopiedFromItsBlob: a file from gitllb.CopyBlobsFrom up in
// a layer written inline is copied from its blob. Through the frontend
// image the read-ahead step wrote the blob, so no step of the build writes
// it and the definition does not carry it; in process (no read-ahead) a
// step of its own writes it. BuildKit keys the copy by the content it
// reads: the in-process build, on the same daemon, finds the layer the
// image build made.
func TestGitBigFileCopiedFromItsBlob(t *testing.T) {
	t.Parallel()
	e := env(t)
	c := newClient(t)
	r := newGitRepo(t)
	r.write("small.txt", gitNonce()+"\n", 0o644)
	r.commit("init")
	big := sourceText(40 << 10)
	r.write("src/big.js", big, 0o644)
	r.commit("big")
	df := dappDir(t, "dimg: app\nfrom: busybox:latest\ngit:\n- add: /\n  to: /app\n")
	args := []string{"--frontend", "gateway.v0", "--opt", "source=" + e.FrontendImage(),
		"--local", "context=" + r.dir, "--local", "dockerfile=" + df}
	for k, v := range e.BaseImageContexts() {
		args = append(args, "--opt", k+"="+v)
	}
	layout, res := buildctlOCI(t, args...)
	img := layout.Image(t, "")
	requireFile(t, img, "/app/src/big.js", 0o644, 0, big)
	require.Contains(t, res.Stderr, "gitLatestPatch")
	require.NotContains(t, res.Stderr, "git blob", "the read-ahead wrote the blob; no step of the build writes it")

	inproc, prog, _ := dappBuild(t, c, r.dir, df, nil)
	requireFile(t, inproc, "/app/src/big.js", 0o644, 0, big)
	require.NotEmpty(t, prog.Find("git blob"), "in process, a step writes the blob")
	require.True(t, prog.Cached(t, "[app] gitLatestPatch"), "the layer the image build made, found by the content the copy reads")
}
