package llb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// testRepo is a git repository made with the git CLI at fixed dates, so
// its hashes are the same on every run.
type testRepo struct {
	t   *testing.T
	dir string
	n   int
}

func newTestRepo(t *testing.T) *testRepo {
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	date := fmt.Sprintf("2026-01-06T10:%02d:00Z", r.n)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
}

func (r *testRepo) commit(files map[string]string) {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.dir, p)
		require.NoError(r.t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(r.t, os.WriteFile(full, []byte(content), 0o644))
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("change %d", r.n))
	r.n++
}

func (r *testRepo) opt() ConvertOpt {
	opt := testOpt()
	opt.Git.Repo = func(context.Context) (*gitsource.Repo, error) { return gitsource.OpenDir(r.dir) }
	return opt
}

const gitDappfile = `
dimg: app
from: alpine
git:
- add: /src
  to: /app
  excludePaths: [vendor]
  owner: app
  stageDependencies:
    install: [package.json]
- url: https://example.com/lib.git
  tag: v1.0.0
  to: /opt/lib
shell:
  install: [make]
`

func mkfiles(op *pb.Op) map[string]string {
	out := map[string]string{}
	for _, a := range op.GetFile().Actions {
		if mk := a.GetMkfile(); mk != nil {
			out[mk.Path] = string(mk.Data)
		}
	}
	return out
}

func TestGitArchiveFromHistory(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.commit(map[string]string{"src/main.go": "package main\n", "src/package.json": "{}\n", "src/vendor/x.go": "vendored\n", "README": "not mapped\n"})
	g, _ := convert(t, gitDappfile, r.opt())
	steps := g.steps()
	require.Len(t, steps, 4, "%v", steps)
	require.Equal(t, "image docker.io/library/alpine:latest", steps[0])
	require.True(t, strings.HasPrefix(steps[1], "file mkdir /app, "), steps[1])
	require.Equal(t, []string{"file copy / → /opt/lib", "run make"}, steps[2:])

	_, archive := g.fileOn(t, "/app")
	require.Equal(t, map[string]string{"/app/main.go": "package main\n", "/app/package.json": "{}\n"}, mkfiles(archive),
		"the archive holds the mapping's committed files, filtered")
	for _, o := range g.ops {
		if s := o.GetSource(); s != nil {
			require.False(t, strings.HasPrefix(s.Identifier, "local://"), "committed sources do not come from the working tree")
		}
	}
	_, remote := g.copyTo(t, "/opt/lib")
	src := g.ops[digest.Digest(remote.Inputs[remote.GetFile().Actions[0].SecondaryInput].Digest)]
	require.True(t, strings.HasPrefix(src.GetSource().Identifier, "git://example.com/lib.git"), src.GetSource().Identifier)
}

func TestGitPatchBeforeInstall(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.commit(map[string]string{"src/main.go": "package main\n", "src/package.json": "{}\n"})
	before, _ := convert(t, gitDappfile, r.opt())
	installBefore, _ := before.run(t, "make")

	// An unrelated change goes to the latest patch: install keeps its key.
	r.commit(map[string]string{"src/main.go": "package main // v2\n"})
	g, _ := convert(t, gitDappfile, r.opt())
	installAfter, _ := g.run(t, "make")
	require.Equal(t, installBefore, installAfter, "an unrelated commit must not rerun install")
	_, latest := g.neighbours(t, installAfter)
	require.Equal(t, map[string]string{"/app/main.go": "package main // v2\n"}, mkfiles(latest))

	// A dependency change brings a patch before install.
	r.commit(map[string]string{"src/package.json": `{"deps": 1}` + "\n"})
	g, _ = convert(t, gitDappfile, r.opt())
	installDeps, _ := g.run(t, "make")
	patch, _ := g.neighbours(t, installDeps)
	require.Equal(t, "{\"deps\": 1}\n", mkfiles(patch)["/app/package.json"], "the patch goes right before install")
	require.NotEqual(t, installBefore, installDeps)
}

func TestGitDevModeUsesWorkingTree(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.Git.Dev = true
	g, _ := convert(t, gitDappfile, opt)
	_, op := g.copyTo(t, "/app")
	cp := op.GetFile().Actions[0].GetCopy()
	require.Equal(t, "/src", cp.Src)
	require.Equal(t, "/app", cp.Dest)
	for _, o := range g.ops {
		if s := o.GetSource(); s != nil && strings.HasPrefix(s.Identifier, "local://") {
			require.Equal(t, `["src"]`, s.Attrs["local.includepattern"])
			require.Equal(t, `["src/vendor",".git"]`, s.Attrs["local.excludepatterns"])
		}
	}
}

func TestGitNotARepository(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	dir := t.TempDir()
	opt.Git.Repo = func(context.Context) (*gitsource.Repo, error) { return gitsource.OpenDir(dir) }
	_, err := Convert(context.Background(), parse(t, gitDappfile), opt)
	require.ErrorIs(t, err, gitsource.ErrNotRepository)
	require.ErrorContains(t, err, "4:3:")
}

func TestGitUncommittedChangesWarn(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.commit(map[string]string{"src/main.go": "package main\n", "src/package.json": "{}\n", "README": "x\n"})
	var warnings []string
	opt := r.opt()
	opt.Warn = func(w dappfile.Warning) { warnings = append(warnings, w.Message) }
	opt.Git.Worktree = func(ctx context.Context, include, exclude []string) (billy.Filesystem, error) {
		require.Contains(t, include, "src")
		return osfs.New(r.dir), nil
	}
	convert(t, gitDappfile, opt)
	require.Empty(t, warnings, "a clean work tree warns about nothing")

	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "src/main.go"), []byte("edited"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "README"), []byte("outside the mapping"), 0o644))
	g, _ := convert(t, gitDappfile, opt)
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], "git mapping → /app: 1 uncommitted change(s) are not built (src/main.go)")
	_, archive := g.fileOn(t, "/app")
	require.Equal(t, "package main\n", mkfiles(archive)["/app/main.go"], "the committed state is built")
}
