package gitsource

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// testRepo builds a git repository with the git CLI. Commit dates come from
// a clock that ticks one minute per commit, so hashes are the same on every
// run and period boundaries are under the test's control.
type testRepo struct {
	t     *testing.T
	dir   string
	clock time.Time
}

// tuesday is inside the week that starts on Monday 2026-01-05.
var tuesday = time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir(), clock: tuesday}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.dir, r.clock, args...)
}

func runGit(t testing.TB, dir string, clock time.Time, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	date := clock.Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
	)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(rel, content string) { r.writeMode(rel, content, 0o644) }

func (r *testRepo) writeMode(rel, content string, mode os.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.t, os.WriteFile(p, []byte(content), mode))
	require.NoError(r.t, os.Chmod(p, mode))
}

func (r *testRepo) symlink(target, rel string) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	_ = os.Remove(p)
	require.NoError(r.t, os.Symlink(target, p))
}

func (r *testRepo) remove(rel string) {
	r.t.Helper()
	require.NoError(r.t, os.RemoveAll(filepath.Join(r.dir, rel)))
}

// commit commits everything and returns the new HEAD.
func (r *testRepo) commit(msg string) plumbing.Hash {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	r.clock = r.clock.Add(time.Minute)
	return plumbing.NewHash(r.git("rev-parse", "HEAD"))
}

func (r *testRepo) open() *Repo {
	r.t.Helper()
	repo, err := OpenDir(r.dir)
	require.NoError(r.t, err)
	return repo
}

func (r *testRepo) plan(m *dappfile.GitMapping, opt PlanOpt) (*MappingPlan, []Warning) {
	r.t.Helper()
	repo := r.open()
	head, err := repo.Head()
	require.NoError(r.t, err)
	p, ws, err := Plan(repo, head, m, opt)
	require.NoError(r.t, err)
	return p, ws
}

func mapping(add, to string) *dappfile.GitMapping {
	return &dappfile.GitMapping{Add: add, To: to}
}

func (r *testRepo) rename(from, to string) {
	r.t.Helper()
	p := filepath.Join(r.dir, to)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.t, os.Rename(filepath.Join(r.dir, from), p))
}
