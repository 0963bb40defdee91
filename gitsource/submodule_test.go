package gitsource

import (
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// allowFile lets git 2.38+ clone submodules over the file transport.
var allowFile = []string{"-c", "protocol.file.allow=always"}

// libRepo is the repository the tests use as a submodule.
func libRepo(t *testing.T) *testRepo {
	lib := newTestRepo(t)
	lib.write("a.txt", "a\n")
	lib.write("b.txt", "b\n")
	lib.write("dir/c.txt", "c\n")
	lib.writeMode("run.sh", "#!/bin/sh\n", 0o755)
	lib.symlink("a.txt", "link")
	lib.commit("lib init")
	return lib
}

// appWithSubmodule makes a superproject with lib added at sub.
func appWithSubmodule(t *testing.T, lib *testRepo, sub string) *testRepo {
	app := newTestRepo(t)
	app.write("main.go", "package main\n")
	app.commit("app init")
	app.git(append(allowFile, "submodule", "add", "-q", lib.dir, sub)...)
	app.commit("add " + sub)
	return app
}

// bump moves the submodule at sub to lib's HEAD and commits.
func (r *testRepo) bump(sub string, lib *testRepo) plumbing.Hash {
	r.t.Helper()
	dir := filepath.Join(r.dir, sub)
	runGit(r.t, dir, r.clock, append(allowFile, "fetch", "-q", "origin")...)
	runGit(r.t, dir, r.clock, "checkout", "-q", lib.git("rev-parse", "HEAD"))
	return r.commit("bump " + sub)
}

// withSubmodule is what `git archive --recurse-submodules` would give, if
// it existed: the superproject's archive of c with the submodule's
// archive of its recorded commit under sub.
func withSubmodule(t *testing.T, app *testRepo, c plumbing.Hash, lib *testRepo, sub string) []string {
	t.Helper()
	out := gitArchive(t, app, c)
	recorded := plumbing.NewHash(strings.Fields(app.git("ls-tree", c.String(), sub))[2])
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
		acts, err := p.stepActions(st)
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
	app.commit("[dapp reset]") // the archive already has lib
	lib.write("b.txt", "b2\n")
	lib.remove("dir")
	lib.write("d.txt", "d\n")
	lib.commit("lib change")
	bumped := app.bump("lib", lib)

	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Empty(t, ws)
	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	acts, err := p.stepActions(step)
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
	acts, err := p.stepActions(step)
	require.NoError(t, err)
	require.Contains(t, describe(acts), "mkfile lib/dir/c.txt 644")

	app.git("rm", "-q", "lib")
	removed := app.commit("remove lib")
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
	clone := &testRepo{t: t, dir: t.TempDir(), clock: tuesday}
	clone.git("clone", "-q", app.dir, ".")

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
	lib.write("a.txt", "not fetched\n")
	unfetched := lib.commit("lib change")
	app.git("update-index", "--cacheinfo", "160000,"+unfetched.String()+",lib")
	app.git("commit", "-q", "-m", "record an unfetched commit")
	app.clock = app.clock.Add(time.Minute)

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
	inner.write("x.txt", "x\n")
	inner.commit("inner")
	lib := libRepo(t)
	lib.git(append(allowFile, "submodule", "add", "-q", inner.dir, "vendor/inner")...)
	lib.commit("add inner")
	app := appWithSubmodule(t, lib, "lib")
	app.git(append(allowFile, "submodule", "update", "-q", "--init", "--recursive")...)

	p, ws := app.plan(mapping("/", "/app"), PlanOpt{})
	require.Empty(t, ws)
	require.Contains(t, replay(t, p), "lib/vendor/inner/x.txt 644 \"x\\n\"")
}

// TestSubmoduleExportEqualsInline: the git-export helper writes what the
// inline FileOp writes, for the archive and for a bump.
func TestSubmoduleExportEqualsInline(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	app.commit("[dapp reset]") // the archive has lib
	lib.write("b.txt", "b2\n")
	lib.symlink("b.txt", "link")
	lib.commit("lib change")
	app.bump("lib", lib)
	p, _ := app.plan(mapping("/", "/app"), PlanOpt{Period: -1})
	for _, step := range p.Steps {
		ops, _ := fileOps(t, mustApply(t, p, step, ApplyOpt{}))
		want := map[string]string{}
		for _, a := range ops[0].Actions {
			if mk := a.GetMkfile(); mk != nil {
				want[strings.TrimPrefix(mk.Path, "/app/")] = describeEntry(fs.FileMode(mk.Mode), "", mk.Data)
			}
			if sl := a.GetSymlink(); sl != nil {
				want[strings.TrimPrefix(sl.Newpath, "/app/")] = describeEntry(fs.ModeSymlink, sl.Oldpath, nil)
			}
		}
		to, err := p.view.repo.commit(step.To)
		require.NoError(t, err)
		out := t.TempDir()
		require.NoError(t, RunExport(p.exportSpec(step, to.Committer.When).Args(filepath.Join(app.dir, ".git"), out)))
		got := exported(t, out, to.Committer.When)
		for rel, d := range got {
			if d == "dir" {
				delete(got, rel)
			}
		}
		require.Equal(t, want, got, step.String())
		require.Contains(t, got, "lib/b.txt", step.String())
	}
}

// TestSubmoduleDeterministic: the LLB depends on the recorded commits
// only: not on map order, on the clone, or on what the submodule's work
// tree has checked out.
func TestSubmoduleDeterministic(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "lib")
	lib.write("b.txt", "b2\n")
	lib.commit("lib change")
	app.bump("lib", lib)
	m := mapping("/", "/app")
	want := marshalBytes(t, chainState(t, mustPlan(t, app.dir, m)))
	for i := 0; i < 10; i++ {
		require.Equal(t, want, marshalBytes(t, chainState(t, mustPlan(t, app.dir, m))))
	}

	clone := t.TempDir()
	runGit(t, clone, tuesday, append(allowFile, "clone", "-q", "--recurse-submodules", app.dir, ".")...)
	runGit(t, filepath.Join(clone, "lib"), tuesday, "checkout", "-q", "HEAD~1")
	require.Equal(t, want, marshalBytes(t, chainState(t, mustPlan(t, clone, m))))
}
