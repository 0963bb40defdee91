package gitsource

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// stepsString renders steps with commit names from names, for readable
// assertions.
func stepsString(p *MappingPlan, names map[plumbing.Hash]string) string {
	var parts []string
	for _, s := range p.Steps {
		switch s.Kind {
		case StepArchive:
			parts = append(parts, "archive@"+names[s.To])
		case StepStagePatch:
			parts = append(parts, string(s.Stage)+":"+names[s.From]+".."+names[s.To])
		default:
			parts = append(parts, s.Kind.String()+":"+names[s.From]+".."+names[s.To])
		}
	}
	return strings.Join(parts, " ")
}

type history struct {
	*testRepo
	names map[plumbing.Hash]string
}

func newHistory(t *testing.T) *history {
	return &history{testRepo: newTestRepo(t), names: map[plumbing.Hash]string{}}
}

func (h *history) commitAs(name, msg string) plumbing.Hash {
	c := h.Commit(msg)
	h.names[c] = name
	return c
}

func depsMapping() *dappfile.GitMapping {
	m := mapping("/", "/app")
	m.StageDependencies = map[dappfile.StageName][]string{
		dappfile.Install: {"package.json"},
		dappfile.Setup:   {"src"},
	}
	return m
}

func TestPlanStageDependencies(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("package.json", "{}")
	h.Write("src/a.js", "a")
	h.Write("README", "r")
	h.commitAs("c0", "init")
	h.Write("src/a.js", "a2")
	h.commitAs("c1", "src")
	h.Write("package.json", `{"x":1}`)
	h.commitAs("c2", "deps")
	h.Write("README", "r2")
	h.commitAs("c3", "readme")

	p, ws := h.plan(depsMapping(), PlanOpt{})
	require.Empty(t, ws)
	require.Equal(t, "archive@c0 install:c0..c2 gitLatestPatch:c2..c3", stepsString(p, h.names))

	_, ok := p.PatchBefore(dappfile.Setup)
	require.False(t, ok, "setup deps (src) last changed before install's pin")

	h.Write("src/a.js", "a3")
	h.commitAs("c4", "src again")
	p, _ = h.plan(depsMapping(), PlanOpt{})
	require.Equal(t, "archive@c0 install:c0..c2 setup:c2..c4", stepsString(p, h.names))
}

func TestPlanStableWhenCommitAddedOnTop(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("package.json", "{}")
	h.Write("src/a.js", "a")
	h.commitAs("c0", "init")
	h.Write("package.json", `{"x":1}`)
	h.commitAs("c1", "deps")
	h.Write("src/a.js", strings.Repeat("x", 700))
	h.commitAs("c2", "big")
	h.Write("src/b.js", strings.Repeat("y", 700))
	h.commitAs("c3", "big 2")
	h.Write("src/c.js", "small")
	h.commitAs("c4", "small")
	m := mapping("/", "/app")
	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"package.json"}}
	opt := PlanOpt{PatchThreshold: 1500}

	before, _ := h.plan(m, opt)
	require.Equal(t, "archive@c0 install:c0..c1 gitCache:c1..c3 gitLatestPatch:c3..c4", stepsString(before, h.names))

	// A commit outside the mapping's change set (empty) and one that
	// changes a non-dependency file: no point of the plan moves except the
	// latest patch's end.
	h.commitAs("c5", "empty")
	after, _ := h.plan(m, opt)
	require.Equal(t, before.Steps, after.Steps)

	h.Write("src/d.js", "d")
	h.commitAs("c6", "small 2")
	after, _ = h.plan(m, opt)
	require.Equal(t, "archive@c0 install:c0..c1 gitCache:c1..c3 gitLatestPatch:c3..c6", stepsString(after, h.names))
	require.Equal(t, before.Steps[:3], after.Steps[:3])
}

func TestPlanThresholdCut(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("a", "a")
	h.commitAs("c0", "init")
	for i, name := range []string{"c1", "c2", "c3", "c4", "c5"} {
		h.Write("f"+name, strings.Repeat("z", 400+i))
		h.commitAs(name, name)
	}
	// 912+913 > 1500 at c2; then restart: c3+c4 > 1500 at c4; c5 remains.
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{PatchThreshold: 1500})
	require.Equal(t, "archive@c0 gitCache:c0..c4 gitLatestPatch:c4..c5", stepsString(p, h.names))

	// An artifact has no gitCache or latest patch.
	p, _ = h.plan(mapping("/", "/app"), PlanOpt{PatchThreshold: 1500, Artifact: true})
	require.Equal(t, "archive@c0", stepsString(p, h.names))
}

func TestPlanRevertedChangeCostsNothing(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("a", "a")
	h.commitAs("c0", "init")
	h.Write("a", strings.Repeat("big", 1000))
	h.commitAs("c1", "big")
	h.Write("a", "a")
	h.commitAs("c2", "revert")
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{PatchThreshold: 1 << 20})
	require.Equal(t, "archive@c0", stepsString(p, h.names))
}

func TestPlanResetMarker(t *testing.T) {
	t.Parallel()
	for _, marker := range []string{"[dapp reset]", "[reset dapp]"} {
		t.Run(marker, func(t *testing.T) {
			t.Parallel()
			h := newHistory(t)
			h.Write("a", "1")
			h.commitAs("c0", "init")
			h.Write("a", "2")
			h.commitAs("c1", "fresh start "+marker)
			h.Write("a", "3")
			h.commitAs("c2", "next")
			p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
			require.Equal(t, "archive@c1 gitLatestPatch:c1..c2", stepsString(p, h.names))
			require.Equal(t, 2, p.Walked)
		})
	}
}

func TestPlanPeriodStartsNewArchive(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("a", "1")
	h.commitAs("c0", "init")
	h.Write("a", "2")
	h.commitAs("c1", "same week")
	h.Clock = time.Date(2026, 1, 12, 0, 30, 0, 0, time.UTC) // next Monday
	h.Write("a", "3")
	h.commitAs("c2", "new week")
	h.Write("a", "4")
	h.commitAs("c3", "later")

	p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
	require.Equal(t, "archive@c2 gitLatestPatch:c2..c3", stepsString(p, h.names))

	p, _ = h.plan(mapping("/", "/app"), PlanOpt{Period: -1})
	require.Equal(t, "archive@c0 gitLatestPatch:c0..c3", stepsString(p, h.names))
}

func TestPlanMaxWalk(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	for _, name := range []string{"c0", "c1", "c2", "c3", "c4"} {
		h.Write("a", name)
		h.commitAs(name, name)
	}
	p, ws := h.plan(mapping("/", "/app"), PlanOpt{MaxWalk: 3})
	require.Equal(t, "archive@c2 gitLatestPatch:c2..c4", stepsString(p, h.names))
	require.Len(t, ws, 1)
	require.Contains(t, ws[0].Message, "no archive start")
}

func TestPlanOnlyMappingFilesCount(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("app/src/a.go", "a")
	h.Write("app/vendor/v.go", "v")
	h.Write("other/x", "x")
	h.commitAs("c0", "init")
	h.Write("other/x", "x2")
	h.commitAs("c1", "outside add")
	h.Write("app/vendor/v.go", "v2")
	h.commitAs("c2", "excluded")
	h.Write("app/src/b.txt", "b")
	h.commitAs("c3", "not included")

	m := mapping("/app", "/app")
	m.IncludePaths = []string{"src/**/*.go", "vendor"}
	m.ExcludePaths = []string{"vendor"}
	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"vendor"}}
	p, ws := h.plan(m, PlanOpt{})
	require.Equal(t, "archive@c0", stepsString(p, h.names))
	require.Len(t, ws, 1)
	require.Equal(t, `stageDependencies.install: "vendor" matches no file of the mapping`, ws[0].Message)
	require.Equal(t, m.Loc, ws[0].Range)
}

func TestPlanAddMissing(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("a", "a")
	h.Write("conf/nginx.conf", "a")
	h.commitAs("c0", "init")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	_, _, err = Plan(repo, head, mapping("/nope", "/app"), PlanOpt{})
	require.EqualError(t, err, `git mapping add "/nope" does not exist at commit `+head.String())
	_, _, err = Plan(repo, head, mapping("/conf/nginx.cof", "/app"), PlanOpt{})
	require.EqualError(t, err, `git mapping add "/conf/nginx.cof" does not exist at commit `+head.String()+` (did you mean conf/nginx.conf?)`)
	_, _, err = Plan(repo, head, mapping("/a/b", "/app"), PlanOpt{})
	require.EqualError(t, err, `git mapping add "/a/b" does not exist at commit `+head.String()+` (did you mean a?)`)
	_, _, err = Plan(repo, head, mapping("/a", "/etc/"), PlanOpt{})
	require.EqualError(t, err, `git mapping add "/a" is a file at commit `+head.String()+
		", so `to` is the file's path in the image, not a directory: write the path with the file's name, e.g. \"/etc/a\"")
}

// TestPlanFileMapping: a mapping of one file follows that file alone: a
// commit that changes it moves the stage pin and the latest patch, one
// that changes its neighbours does not; stageDependencies and filters
// match the file's name.
func TestPlanFileMapping(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("conf/nginx.conf", "v1")
	h.Write("conf/other.conf", "o1")
	h.commitAs("c0", "init")
	h.Write("conf/nginx.conf", "v2")
	h.commitAs("c1", "change the file")
	h.Write("conf/other.conf", "o2")
	h.Write("conf/new.conf", "n")
	h.commitAs("c2", "change its neighbours")

	m := mapping("/conf/nginx.conf", "/etc/nginx/nginx.conf")
	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"nginx.conf"}}
	p, ws := h.plan(m, PlanOpt{})
	require.Empty(t, ws)
	require.Equal(t, "archive@c0 install:c0..c1", stepsString(p, h.names))
	require.Equal(t, "nginx.conf", p.File())
	require.Equal(t, "/etc/nginx/nginx.conf", p.Dest("nginx.conf"))
	require.Equal(t, "/etc/nginx", p.Dest(""))

	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"*"}}
	p, _ = h.plan(m, PlanOpt{})
	require.Equal(t, "archive@c0 install:c0..c1", stepsString(p, h.names))

	m.StageDependencies = map[dappfile.StageName][]string{dappfile.Install: {"other.conf"}}
	p, ws = h.plan(m, PlanOpt{})
	require.Equal(t, "archive@c0 gitLatestPatch:c0..c1", stepsString(p, h.names))
	require.Len(t, ws, 1)
	require.Equal(t, `stageDependencies.install: "other.conf" matches no file of the mapping`, ws[0].Message)

	m.StageDependencies = nil
	m.ExcludePaths = []string{"*.conf"}
	p, _ = h.plan(m, PlanOpt{})
	require.Equal(t, "archive@c0", stepsString(p, h.names), "excluded: nothing to add")

	// a directory mapping keeps Rel below `to`
	p, _ = h.plan(mapping("/conf", "/etc/nginx"), PlanOpt{})
	require.Equal(t, "", p.File())
	require.Equal(t, "/etc/nginx/nginx.conf", p.Dest("nginx.conf"))
}

// TestPlanFileMappingAppears: a file that did not exist at the archive
// commit comes with the patch that adds it; a directory at the same path
// earlier does not count as the file.
func TestPlanFileMappingAppears(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("app.conf/x", "a directory first")
	h.commitAs("c0", "init")
	h.Remove("app.conf")
	h.Write("app.conf", "now a file")
	h.commitAs("c1", "file")
	p, _ := h.plan(mapping("/app.conf", "/etc/app.conf"), PlanOpt{})
	require.Equal(t, "archive@c0 gitLatestPatch:c0..c1", stepsString(p, h.names))
	acts, err := p.StepActions(p.ArchiveStep())
	require.NoError(t, err)
	require.Equal(t, []Action{{Kind: ActMkdir, Rel: "", Mode: DirMode}}, acts, "only the directory `to` lands in")
}

// TestFileMappingActions: a patch of a file mapping rewrites or removes
// just its file; Export writes it under its repository name.
func TestFileMappingActions(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.WriteMode("payment_gateway/process.sh", "#!/bin/sh\necho v1\n", 0o755)
	h.Write("payment_gateway/other.sh", "other")
	h.commitAs("c0", "init")
	h.WriteMode("payment_gateway/process.sh", "#!/bin/sh\necho v2\n", 0o755)
	c1 := h.commitAs("c1", "change")
	h.Remove("payment_gateway/process.sh")
	c2 := h.commitAs("c2", "remove")
	repo := h.open()
	m := mapping("/payment_gateway/process.sh", "/home/payment/run.sh")
	p, _, err := Plan(repo, c1, m, PlanOpt{})
	require.NoError(t, err)
	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	acts, err := p.StepActions(step)
	require.NoError(t, err)
	require.Len(t, acts, 2)
	require.Equal(t, ActMkfile, acts[1].Kind)
	require.Equal(t, "/home/payment/run.sh", p.Dest(acts[1].Rel))
	dt, err := acts[1].Data()
	require.NoError(t, err)
	require.Equal(t, "#!/bin/sh\necho v2\n", string(dt))

	// the commit that deletes the file removes `to`
	v, err := newView(repo, m.Add, nil, nil, true)
	require.NoError(t, err)
	rm, err := v.actionsBetween(c1, c2)
	require.NoError(t, err)
	require.Len(t, rm, 1)
	require.Equal(t, ActRm, rm[0].Kind)
	require.Equal(t, "/home/payment/run.sh", p.Dest(rm[0].Rel))
	// and at that commit the mapping has nothing to add, which is an error
	_, _, err = Plan(repo, c2, m, PlanOpt{})
	require.ErrorContains(t, err, `git mapping add "/payment_gateway/process.sh" does not exist at commit`)

	out := t.TempDir()
	spec := p.ExportSpec(p.ArchiveStep(), time.Unix(1767693600, 0))
	require.True(t, spec.File)
	require.NoError(t, Export(repo, spec, out))
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "process.sh", entries[0].Name())
}

func TestOpenNotRepository(t *testing.T) {
	t.Parallel()
	_, err := OpenDir(t.TempDir())
	require.ErrorIs(t, err, ErrNotRepository)
	require.ErrorContains(t, err, "read the build context's own .git directory")
}

func TestPlanShallowClone(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	for _, name := range []string{"c0", "c1", "c2", "c3"} {
		h.Write("a", name)
		h.commitAs(name, name)
	}
	clone := &testRepo{&gittest.Repo{T: t, Dir: t.TempDir(), Clock: h.Clock}}
	clone.Git("clone", "-q", "--depth", "2", "file://"+h.Dir, ".")
	p, ws := clone.plan(mapping("/", "/app"), PlanOpt{})
	require.Equal(t, "archive@c2 gitLatestPatch:c2..c3", stepsString(p, h.names))
	require.Len(t, ws, 1)
	require.Contains(t, ws[0].Message, "shallow clone")
}
