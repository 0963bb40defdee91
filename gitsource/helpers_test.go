package gitsource

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/stretchr/testify/require"
)

// testRepo is a repository built with the git CLI (see gittest), opened
// and planned with this package.
type testRepo struct{ *gittest.Repo }

// tuesday is inside the week that starts on Monday 2026-01-05.
var tuesday = gittest.Tuesday

func newTestRepo(t *testing.T) *testRepo { return &testRepo{gittest.New(t)} }

func (r *testRepo) open() *Repo {
	r.T.Helper()
	repo, err := OpenDir(r.Dir)
	require.NoError(r.T, err)
	return repo
}

func (r *testRepo) plan(m *dappfile.GitMapping, opt PlanOpt) (*MappingPlan, []dappfile.Warning) {
	r.T.Helper()
	repo := r.open()
	head, err := repo.Head()
	require.NoError(r.T, err)
	p, ws, err := Plan(repo, head, m, opt)
	require.NoError(r.T, err)
	return p, ws
}

func mapping(add, to string) *dappfile.GitMapping {
	return &dappfile.GitMapping{Add: add, To: to}
}
