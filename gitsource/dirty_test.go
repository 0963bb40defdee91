package gitsource

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/stretchr/testify/require"
)

func TestUncommitted(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write(".gitignore", "*.log\n")
	h.Write("app/a.go", "a")
	h.Write("app/b.go", "b")
	h.Write("app/vendor/v.go", "v")
	h.Write("other/x", "x")
	h.Commit("init")
	m := mapping("/app", "/app")
	m.ExcludePaths = []string{"vendor"}

	repo := h.open()
	clean, err := repo.Uncommitted(osfs.New(h.Dir), m)
	require.NoError(t, err)
	require.Empty(t, clean)

	h.Write("app/a.go", "changed")
	h.Remove("app/b.go")
	h.Write("app/new.go", "untracked")
	h.Write("app/debug.log", "ignored")
	h.Write("app/vendor/v.go", "excluded")
	h.Write("other/x", "outside add")
	dirty, err := repo.Uncommitted(osfs.New(h.Dir), m)
	require.NoError(t, err)
	require.Equal(t, []string{"app/a.go", "app/new.go"}, dirty, "a file missing from the work tree may just be dockerignored")

}

func TestUncommittedFileMapping(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("conf/nginx.conf", "a")
	h.Write("conf/other.conf", "b")
	h.Commit("init")
	h.Write("conf/nginx.conf", "changed")
	h.Write("conf/other.conf", "changed too, but not mapped")
	dirty, err := h.open().Uncommitted(osfs.New(h.Dir), mapping("/conf/nginx.conf", "/etc/nginx/nginx.conf"))
	require.NoError(t, err)
	require.Equal(t, []string{"conf/nginx.conf"}, dirty)
}

// TestUncommittedSharedWorkTree: the checks of several mappings may read
// one transfer of the work tree (the union of theirs); each finds its own
// files, as from a work tree of its own, and the work tree is compared
// with HEAD once.
func TestUncommittedSharedWorkTree(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("app/a.go", "a")
	h.Write("app/vendor/v.go", "v")
	h.Write("assets/app.css", "css")
	h.Write("package.json", "{}")
	h.Commit("init")
	h.Write("app/a.go", "changed")
	h.Write("app/vendor/v.go", "excluded")
	h.Write("assets/app.css", "changed")
	h.Write("package.json", `{"name": "changed"}`)
	app := mapping("/app", "/app")
	app.ExcludePaths = []string{"vendor"}
	assets := mapping("/", "/src")
	assets.IncludePaths = []string{"assets", "package.json"}
	want := map[string][]string{"/app": {"app/a.go"}, "/src": {"assets/app.css", "package.json"}}

	repo := h.open()
	shared := osfs.New(h.Dir)
	for _, m := range []*dappfile.GitMapping{app, assets, app} {
		got, err := repo.Uncommitted(shared, m)
		require.NoError(t, err)
		require.Equal(t, want[m.To], got)
		alone, err := h.open().Uncommitted(osfs.New(h.Dir), m)
		require.NoError(t, err)
		require.Equal(t, alone, got)
	}
	require.Len(t, repo.statuses, 1, "one comparison with HEAD for the shared work tree")
}
