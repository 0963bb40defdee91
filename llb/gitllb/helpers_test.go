package gitllb

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/moby/buildkit/client/llb"
	"github.com/stretchr/testify/require"
)

type testRepo struct{ *gittest.Repo }

var tuesday = gittest.Tuesday

func newTestRepo(t *testing.T) *testRepo { return &testRepo{gittest.New(t)} }

func exportRepo(t *testing.T) *testRepo { return &testRepo{gittest.NewMixed(t)} }

func (r *testRepo) open() *gitsource.Repo {
	r.T.Helper()
	repo, err := gitsource.OpenDir(r.Dir)
	require.NoError(r.T, err)
	return repo
}

func (r *testRepo) plan(m *dappfile.GitMapping, opt gitsource.PlanOpt) (*gitsource.MappingPlan, []dappfile.Warning) {
	r.T.Helper()
	return mustPlanOpt(r.T, r.Dir, m, opt)
}

func mustPlan(t testing.TB, dir string, m *dappfile.GitMapping) *gitsource.MappingPlan {
	t.Helper()
	p, _ := mustPlanOpt(t, dir, m, gitsource.PlanOpt{})
	return p
}

func mustPlanOpt(t testing.TB, dir string, m *dappfile.GitMapping, opt gitsource.PlanOpt) (*gitsource.MappingPlan, []dappfile.Warning) {
	t.Helper()
	repo, err := gitsource.OpenDir(dir)
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	p, ws, err := gitsource.Plan(repo, head, m, opt)
	require.NoError(t, err)
	return p, ws
}

func mustApply(t *testing.T, p *gitsource.MappingPlan, step gitsource.PlanStep, opt ApplyOpt) llb.State {
	t.Helper()
	st, err := Apply(llb.Scratch(), p, step, opt)
	require.NoError(t, err)
	return st
}

func mapping(add, to string) *dappfile.GitMapping {
	return &dappfile.GitMapping{Add: add, To: to}
}

// depsMapping maps the whole repository with a stage dependency for
// install and one for setup.
func depsMapping() *dappfile.GitMapping {
	m := mapping("/", "/app")
	m.StageDependencies = map[dappfile.StageName][]string{
		dappfile.Install: {"package.json"},
		dappfile.Setup:   {"src"},
	}
	return m
}
