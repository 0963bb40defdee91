package gitsource

import (
	"testing"

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
