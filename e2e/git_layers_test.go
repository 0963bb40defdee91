//go:build e2e

package e2e

// End-to-end checks of gitsource's layering (DESIGN.md R1–R5) on a real
// buildkitd. They drive gitsource directly from an in-process BuildFunc,
// the way the frontend does (the context's .git read through the gateway),
// so they do not depend on how llb/ wires the stages.

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/stretchr/testify/require"
)

// gitRepo is a repository written with the git CLI; commit dates tick one
// minute from a fixed Tuesday so every run has the same hashes.
type gitRepo struct {
	t     *testing.T
	dir   string
	clock time.Time
}

func newGitRepo(t *testing.T) *gitRepo {
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

func (r *gitRepo) remove(rel string) {
	require.NoError(r.t, os.RemoveAll(filepath.Join(r.dir, rel)))
}

func (r *gitRepo) symlink(target, rel string) {
	p := filepath.Join(r.dir, rel)
	_ = os.Remove(p)
	require.NoError(r.t, os.Symlink(target, p))
}

func (r *gitRepo) commit(msg string) {
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	r.clock = r.clock.Add(time.Minute)
}

// gitBuild returns a BuildFunc that builds busybox + the mapping's layers
// with stand-in user stages, in the stage order of an image, and records
// the marshalled definition into *def.
func gitBuild(base string, m *dappfile.GitMapping, opt gitsource.PlanOpt, def *[][]byte) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		dotgit := llb.Local("context", llb.IncludePatterns([]string{".git"}), llb.SharedKeyHint("context-git"))
		d, err := dotgit.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: d.ToPB()})
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		repo, err := gitsource.OpenFS(gitsource.NewReaderFS(ctx, ref, ".git"))
		if err != nil {
			return nil, err
		}
		head, err := repo.Head()
		if err != nil {
			return nil, err
		}
		p, _, err := gitsource.Plan(repo, head, m, opt)
		if err != nil {
			return nil, err
		}
		st, err := p.Apply(llb.Image(base), p.ArchiveStep(), gitsource.ApplyOpt{})
		if err != nil {
			return nil, err
		}
		for _, s := range []dappfile.StageName{dappfile.Install, dappfile.Setup} {
			if step, ok := p.PatchBefore(s); ok {
				if st, err = p.Apply(st, step, gitsource.ApplyOpt{}); err != nil {
					return nil, err
				}
			}
			st = st.Run(llb.Shlex("sh -c 'ls -lR /app > /"+string(s)+".out'"), llb.WithCustomName("[app] "+string(s))).Root()
		}
		for _, get := range []func() (gitsource.PlanStep, bool){p.CacheStep, p.LatestPatchStep} {
			if step, ok := get(); ok {
				if st, err = p.Apply(st, step, gitsource.ApplyOpt{}); err != nil {
					return nil, err
				}
			}
		}
		d, err = st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		if def != nil {
			*def = d.Def
		}
		return c.Solve(ctx, gwclient.SolveRequest{Definition: d.ToPB()})
	}
}

func gitOpt(t *testing.T, dir string) client.SolveOpt {
	return client.SolveOpt{LocalMounts: localMounts(t, map[string]string{"context": dir})}
}

func appMapping() *dappfile.GitMapping {
	return &dappfile.GitMapping{Add: "/", To: "/app", Owner: "1000", Group: "1000",
		StageDependencies: map[dappfile.StageName][]string{dappfile.Install: {"package.json"}}}
}

func buildGit(t *testing.T, c *client.Client, r *gitRepo, m *dappfile.GitMapping, opt gitsource.PlanOpt) (*OCIImage, *Progress) {
	t.Helper()
	return solveOCI(t, c, gitOpt(t, r.dir), gitBuild(env(t).Image("busybox:latest"), m, opt, nil))
}

// gitNonce makes this run's sources unique, so the first build of a test
// never hits cache left by an earlier run (the commit dates are fixed).
func gitNonce() string { return fmt.Sprintf("%d", time.Now().UnixNano()) }

// noise is n bytes that do not compress.
func noise(n int) string {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// TestGitUnrelatedCommitKeepsInstall (R1): a commit that does not touch
// install's dependencies leaves install cached; one that does reruns it
// once; after that, install is cached again.
func TestGitUnrelatedCommitKeepsInstall(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.write("src/main.js", "main\n", 0o644)
	r.commit("init")
	_, prog := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.True(t, prog.Ran(t, "[app] install"))

	r.write("src/main.js", "changed\n", 0o644)
	r.commit("unrelated")
	_, prog = buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.True(t, prog.Cached(t, "[app] install"))
	require.True(t, prog.Cached(t, "[app] setup"), "the latest patch comes after setup")

	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.commit("dependencies")
	_, prog = buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.True(t, prog.Ran(t, "[app] install"), "Vertex fails when install shows up twice")

	r.write("src/other.js", "other\n", 0o644)
	r.commit("unrelated again")
	_, prog = buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.True(t, prog.Cached(t, "[app] install"))
}

// TestGitSmallCommitSmallLayer (R2): a 10 KB commit adds exactly one layer
// of about 10 KB and keeps every other layer.
func TestGitSmallCommitSmallLayer(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.write("src/big.bin", noise(512<<10), 0o644)
	r.commit("init")
	img1, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})

	r.write("src/feature.bin", noise(10<<10), 0o644)
	r.commit("10 KB")
	img2, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})

	d1, d2 := img1.LayerDigests(), img2.LayerDigests()
	require.Len(t, d2, len(d1)+1)
	require.Equal(t, d1, d2[:len(d1)])
	last := img2.LayerSizes()[len(d2)-1]
	require.LessOrEqual(t, last, int64(10<<10+64<<10), "the new layer holds the new file only")
}

// TestGitCacheLayer (R3): past 1 MiB of accumulated change the change
// becomes the gitCache layer and the latest patch starts anew.
func TestGitCacheLayer(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.commit("init")
	img1, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	n := len(img1.Layers)

	r.write("a.bin", noise(600<<10), 0o644)
	r.commit("600 KB")
	img2, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.Len(t, img2.Layers, n+1, "latest patch")

	r.write("b.bin", noise(600<<10), 0o644)
	r.commit("600 KB more: 1.2 MiB since the archive")
	img3, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.Len(t, img3.Layers, n+1, "gitCache, no latest patch")
	require.Greater(t, img3.LayerSizes()[n], int64(1200<<10))

	r.write("c.txt", "small", 0o644)
	r.commit("small")
	img4, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})
	require.Len(t, img4.Layers, n+2)
	require.Equal(t, img3.LayerDigests(), img4.LayerDigests()[:n+1], "gitCache stays")
	require.Less(t, img4.LayerSizes()[n+1], int64(64<<10), "the latest patch shrank")
}

// TestGitTreeMatchesGitArchive (R5): after deletions, renames, mode
// changes, a symlink re-point, a binary edit and type changes, /app is
// `git archive HEAD` exactly, owned by the mapping's owner/group.
func TestGitTreeMatchesGitArchive(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.write("src/a.go", "package a\n", 0o644)
	r.write("src/old.go", "old\n", 0o644)
	r.write("run.sh", "#!/bin/sh\n", 0o755)
	r.symlink("src/a.go", "current")
	r.write("data.bin", "\x00\x01\x02", 0o644)
	r.write("x/y/z", "z", 0o644)
	r.commit("init")
	buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})

	require.NoError(t, os.MkdirAll(filepath.Join(r.dir, "lib"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(r.dir, "src/old.go"), filepath.Join(r.dir, "lib/new.go")))
	r.write("run.sh", "#!/bin/sh\n", 0o644)
	r.symlink("lib/new.go", "current")
	r.write("data.bin", "\xff\x00\x01\x02", 0o644)
	r.remove("x")
	r.write("x", "x is a file now", 0o755)
	r.commit("mixed changes")
	r.remove("src")
	r.write("src", "src is a file now", 0o644)
	r.commit("type change")
	img, _ := buildGit(t, c, r, appMapping(), gitsource.PlanOpt{})

	want := gitArchiveFiles(t, r)
	got := map[string]string{}
	for _, f := range img.Files(t) {
		if !strings.HasPrefix(f.Path, "/app/") {
			continue
		}
		require.Equal(t, 1000, f.UID, f.Path)
		require.Equal(t, 1000, f.GID, f.Path)
		got[strings.TrimPrefix(f.Path, "/app/")] = describeFile(f.Mode, f.Linkname, f.Content)
	}
	require.Equal(t, want, got)
}

func describeFile(mode os.FileMode, link string, content []byte) string {
	switch {
	case mode.IsDir():
		return "dir"
	case mode&os.ModeSymlink != 0:
		return "-> " + link
	}
	return fmt.Sprintf("%o %q", mode.Perm(), content)
}

func gitArchiveFiles(t *testing.T, r *gitRepo) map[string]string {
	cmd := exec.Command("git", "archive", "HEAD")
	cmd.Dir = r.dir
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
			mode := os.FileMode(0o644)
			if hdr.Mode&0o100 != 0 {
				mode = 0o755
			}
			out[name] = describeFile(mode, "", body)
		}
	}
}

// TestGitClonesBuildTheSame (R4): two clones of one repository give the
// same LLB and the same layers.
func TestGitClonesBuildTheSame(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newGitRepo(t)
	r.write("package.json", `{"nonce":"`+gitNonce()+`"}`, 0o644)
	r.write("src/a", "a", 0o644)
	r.commit("init")
	r.write("src/b", "b", 0o644)
	r.commit("second")
	clone := &gitRepo{t: t, dir: t.TempDir(), clock: r.clock}
	clone.git("clone", "-q", r.dir, ".")

	base := env(t).Image("busybox:latest")
	var def1, def2 [][]byte
	img1, _ := solveOCI(t, c, gitOpt(t, r.dir), gitBuild(base, appMapping(), gitsource.PlanOpt{}, &def1))
	img2, _ := solveOCI(t, c, gitOpt(t, clone.dir), gitBuild(base, appMapping(), gitsource.PlanOpt{}, &def2))
	require.Equal(t, def1, def2)
	require.Equal(t, img1.LayerDigests(), img2.LayerDigests())
}
