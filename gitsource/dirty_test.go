package gitsource

import (
	"context"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/stretchr/testify/require"
)

func TestUncommitted(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.write(".gitignore", "*.log\n")
	h.write("app/a.go", "a")
	h.write("app/b.go", "b")
	h.write("app/vendor/v.go", "v")
	h.write("other/x", "x")
	h.commit("init")
	m := mapping("/app", "/app")
	m.ExcludePaths = []string{"vendor"}

	repo := h.open()
	clean, err := repo.Uncommitted(osfs.New(h.dir), m)
	require.NoError(t, err)
	require.Empty(t, clean)

	h.write("app/a.go", "changed")
	h.remove("app/b.go")
	h.write("app/new.go", "untracked")
	h.write("app/debug.log", "ignored")
	h.write("app/vendor/v.go", "excluded")
	h.write("other/x", "outside add")
	dirty, err := repo.Uncommitted(osfs.New(h.dir), m)
	require.NoError(t, err)
	require.Equal(t, []string{"app/a.go", "app/new.go"}, dirty, "a file missing from the work tree may just be dockerignored")

	// Through the reader adapter, as the frontend reads the context.
	fs := NewReaderFS(context.Background(), &dirReader{root: h.dir}, "/")
	viaReader, err := repo.Uncommitted(fs, m)
	require.NoError(t, err)
	require.Equal(t, dirty, viaReader)
}
