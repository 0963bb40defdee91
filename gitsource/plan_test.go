package gitsource

import (
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
	require.Equal(t, m.Loc, ws[0].Loc)
}

func TestPlanAddMissing(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.Write("a", "a")
	h.commitAs("c0", "init")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	_, _, err = Plan(repo, head, mapping("/nope", "/app"), PlanOpt{})
	require.ErrorContains(t, err, `git mapping add "/nope" is not a directory at commit`)
	_, _, err = Plan(repo, head, mapping("/a", "/app"), PlanOpt{})
	require.ErrorContains(t, err, `git mapping add "/a" is not a directory at commit`)
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
