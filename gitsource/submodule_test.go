package gitsource

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// allowFile lets git 2.38+ clone submodules over the file transport.
var allowFile = []string{"-c", "protocol.file.allow=always"}

// libRepo is the repository the tests use as a submodule.
func libRepo(t *testing.T) *testRepo {
	lib := newTestRepo(t)
	lib.Write("a.txt", "a\n")
	lib.Write("b.txt", "b\n")
	lib.Write("dir/c.txt", "c\n")
	lib.WriteMode("run.sh", "#!/bin/sh\n", 0o755)
	lib.Symlink("a.txt", "link")
	lib.Commit("lib init")
	return lib
}

// appWithSubmodule makes a superproject with lib added at sub.
func appWithSubmodule(t *testing.T, lib *testRepo, sub string) *testRepo {
	app := newTestRepo(t)
	app.Write("main.go", "package main\n")
	app.Commit("app init")
	app.Git(append(allowFile, "submodule", "add", "-q", lib.Dir, sub)...)
	app.Commit("add " + sub)
	return app
}

// bump moves the submodule at sub to lib's HEAD and commits.
func (r *testRepo) bump(sub string, lib *testRepo) plumbing.Hash {
	r.T.Helper()
	dir := filepath.Join(r.Dir, sub)
	gittest.Run(r.T, dir, r.Clock, append(allowFile, "fetch", "-q", "origin")...)
	gittest.Run(r.T, dir, r.Clock, "checkout", "-q", lib.Git("rev-parse", "HEAD"))
	return r.Commit("bump " + sub)
}

// withSubmodule is what `git archive --recurse-submodules` would give, if
// it existed: the superproject's archive of c with the submodule's
// archive of its recorded commit under sub.
func withSubmodule(t *testing.T, app *testRepo, c plumbing.Hash, lib *testRepo, sub string) []string {
	t.Helper()
	out := gitArchive(t, app, c)
	recorded := plumbing.NewHash(strings.Fields(app.Git("ls-tree", c.String(), sub))[2])
	for _, l := range gitArchive(t, lib, recorded) {
		out = append(out, sub+"/"+l)
	}
	sort.Strings(out)
	return out
}

// replay writes the archive step and every later step of p into a
// directory, as BuildKit would, and lists the result.
func replay(t *testing.T, p *MappingPlan) []string {
	t.Helper()
	dir := t.TempDir()
	for _, st := range p.Steps {
		acts, err := p.StepActions(st)
		require.NoError(t, err)
		runActions(t, dir, acts)
	}
	return snapshot(t, dir)
}

func TestSubmoduleArchiveHasItsFiles(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Empty(t, ws)
	head := p.Head
	require.Equal(t, withSubmodule(t, app, head, lib, "lib"), replay(t, p))
	require.Contains(t, replay(t, p), "lib/dir/c.txt 644 \"c\\n\"")
	require.Contains(t, replay(t, p), "lib/run.sh 755 \"#!/bin/sh\\n\"")
	require.Contains(t, replay(t, p), "lib/link -> a.txt")
}

// TestSubmoduleFilters: globs see a submodule's files at their full paths.
func TestSubmoduleFilters(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "vendor/lib")
	m := mapping("/vendor", "/app")
	m.IncludePaths = []string{"lib/dir", "lib/a.txt"}
	m.ExcludePaths = []string{"lib/dir/c.txt"}
	p, _ := app.plan(m, PlanOpt{})
	require.Equal(t, []string{"lib/", "lib/a.txt 644 \"a\\n\""}, replay(t, p))
}

// TestSubmoduleBumpIsSmallPatch: a new recorded commit is a patch of the
// submodule's changed files only, pins stages and counts toward gitCache.
func TestSubmoduleBumpIsSmallPatch(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	app.Commit("[dapp reset]") // the archive already has lib
	lib.Write("b.txt", "b2\n")
	lib.Remove("dir")
	lib.Write("d.txt", "d\n")
	lib.Commit("lib change")
	bumped := app.bump("lib", lib)

	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Empty(t, ws)
	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	acts, err := p.StepActions(step)
	require.NoError(t, err)
	require.Equal(t, []string{"rm lib/dir", "mkdir ", "mkdir lib", "mkfile lib/b.txt 644", "mkfile lib/d.txt 644"}, describe(acts))
	require.Equal(t, withSubmodule(t, app, bumped, lib, "lib"), replay(t, p))

	m := mapping("/", "/app")
	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"lib/b.txt"}}
	p, _ = app.plan(m, PlanOpt{})
	pin, ok := p.PatchBefore(dappfile.Install)
	require.True(t, ok, "a submodule file pins its stage")
	require.Equal(t, bumped, pin.To)

	p, _ = app.plan(mapping("/", "/app"), PlanOpt{PatchThreshold: 1})
	_, ok = p.CacheStep()
	require.True(t, ok, "the submodule's change counts toward the threshold")
}

// TestSubmoduleAddedAndRemoved: adding a submodule adds its files, removing
// it removes them.
func TestSubmoduleAddedAndRemoved(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	p, _ := app.plan(mapping("/", "/app"), PlanOpt{Period: -1})
	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	acts, err := p.StepActions(step)
	require.NoError(t, err)
	require.Contains(t, describe(acts), "mkfile lib/dir/c.txt 644")

	app.Git("rm", "-q", "lib")
	removed := app.Commit("remove lib")
	p, _ = app.plan(mapping("/", "/app"), PlanOpt{Period: -1})
	got := replay(t, p)
	for _, l := range got {
		require.False(t, strings.HasPrefix(l, "lib/"), l)
	}
	require.Equal(t, gitArchive(t, app, removed), got)
}

func TestSubmoduleUninitialisedWarns(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	// a plain clone: .gitmodules and the gitlink, no .git/modules
	clone := &testRepo{&gittest.Repo{T: t, Dir: t.TempDir(), Clock: tuesday}}
	clone.Git("clone", "-q", app.Dir, ".")

	p, ws := clone.plan(mapping("/", "/app"), PlanOpt{})
	require.Len(t, ws, 1)
	require.Contains(t, ws[0].Message, `submodule "lib"`)
	require.Contains(t, ws[0].Message, "git submodule update --init")
	// git archive writes the gitlink as an empty directory; a mapping
	// creates directories only for files
	want := gitArchive(t, clone, p.Head)
	require.Contains(t, want, "lib/")
	require.Equal(t, slices.DeleteFunc(want, func(l string) bool { return l == "lib/" }), replay(t, p), "the superproject's files only")
}

// TestSubmoduleCommitNotFetchedWarns: a recorded commit the submodule's
// repository lacks leaves the submodule out, naming it.
func TestSubmoduleCommitNotFetchedWarns(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	lib.Write("a.txt", "not fetched\n")
	unfetched := lib.Commit("lib change")
	app.Git("update-index", "--cacheinfo", "160000,"+unfetched.String()+",lib")
	app.Git("commit", "-q", "-m", "record an unfetched commit")
	app.Clock = app.Clock.Add(time.Minute)

	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Len(t, ws, 1)
	require.Contains(t, ws[0].Message, `submodule "lib" (commit `+short(unfetched)+")")
	require.Contains(t, ws[0].Message, "does not have the recorded commit")
	require.Contains(t, ws[0].Message, "git submodule update --init")
	for _, l := range replay(t, p) {
		require.False(t, strings.HasPrefix(l, "lib/"), l)
	}
}

func TestSubmoduleNested(t *testing.T) {
	t.Parallel()
	inner := newTestRepo(t)
	inner.Write("x.txt", "x\n")
	inner.Commit("inner")
	lib := libRepo(t)
	lib.Git(append(allowFile, "submodule", "add", "-q", inner.Dir, "vendor/inner")...)
	lib.Commit("add inner")
	app := appWithSubmodule(t, lib, "lib")
	app.Git(append(allowFile, "submodule", "update", "-q", "--init", "--recursive")...)

	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Empty(t, ws)
	require.Contains(t, replay(t, p), "lib/vendor/inner/x.txt 644 \"x\\n\"")
}

// TestSubmoduleExportEqualsInline: the git-export helper writes what the
// step's actions (the inline FileOp) write, for the archive and for a bump.
func TestSubmoduleExportEqualsInline(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	app.Commit("[dapp reset]") // the archive has lib
	lib.Write("b.txt", "b2\n")
	lib.Symlink("b.txt", "link")
	lib.Commit("lib change")
	app.bump("lib", lib)
	p, _ := app.plan(mapping("/", "/app"), PlanOpt{Period: -1})
	for _, step := range p.Steps {
		want := stepWrites(t, p, step)
		mtime, err := p.StepTime(step)
		require.NoError(t, err)
		out := t.TempDir()
		require.NoError(t, Export(app.open(), p.ExportSpec(step, mtime), out))
		got := exported(t, out, mtime)
		for rel, d := range got {
			if d == "dir" {
				delete(got, rel)
			}
		}
		require.Equal(t, want, got, step.String())
		require.Contains(t, got, "lib/b.txt", step.String())
	}
}

// TestSubmoduleDeterministic: the plan and its actions (so the LLB, see
// llb/gitllb's TestApplyDeterministic) depend on the recorded commits
// only: not on map order, on the clone, or on what the submodule's work
// tree has checked out.
func TestSubmoduleDeterministic(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	lib.Write("b.txt", "b2\n")
	lib.Commit("lib change")
	app.bump("lib", lib)
	m := mapping("/", "/app")
	want := planWrites(t, app.Dir, m)
	for i := 0; i < 10; i++ {
		require.Equal(t, want, planWrites(t, app.Dir, m))
	}

	clone := t.TempDir()
	gittest.Run(t, clone, tuesday, append(allowFile, "clone", "-q", "--recurse-submodules", app.Dir, ".")...)
	gittest.Run(t, filepath.Join(clone, "lib"), tuesday, "checkout", "-q", "HEAD~1")
	require.Equal(t, want, planWrites(t, clone, m))
}

// planWrites describes every step of the mapping's plan in dir with what
// its actions write.
func planWrites(t *testing.T, dir string, m *dappfile.GitMapping) []string {
	t.Helper()
	repo, err := OpenDir(dir)
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	p, _, err := Plan(repo, head, m, PlanOpt{})
	require.NoError(t, err)
	var out []string
	for _, step := range p.Steps {
		acts, err := p.StepActions(step)
		require.NoError(t, err)
		out = append(out, step.String(), fmt.Sprint(describe(acts)), fmt.Sprint(stepWrites(t, p, step)))
	}
	return out
}
