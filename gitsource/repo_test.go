package gitsource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenContext: the debug command finds the context's repository as
// the frontend does in BuildKit's transfer: a .git symlink is not followed
// (issue 11: it read a repository outside the context).
func TestOpenContext(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("a", "a")
	r.Commit("init")
	repo, err := OpenContext(r.Dir)
	require.NoError(t, err)
	_, err = repo.Head()
	require.NoError(t, err)

	linked := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(r.Dir, ".git"), filepath.Join(linked, ".git")))
	_, err = OpenContext(linked)
	require.ErrorIs(t, err, ErrNotRepository)

	require.NoError(t, os.WriteFile(filepath.Join(linked, "x"), nil, 0o644))
	worktree := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(worktree, ".git"), []byte("gitdir: "+filepath.Join(r.Dir, ".git")), 0o644))
	_, err = OpenContext(worktree)
	require.ErrorIs(t, err, ErrNotRepository, "a .git file points elsewhere: not in the context")
}

// TestOpenContextSymlinkInsideGit: a symlink inside .git pointing out of
// it resolves inside, so the objects of a repository outside are not read.
func TestOpenContextSymlinkInsideGit(t *testing.T) {
	t.Parallel()
	outside := newTestRepo(t)
	outside.Write("a", "a")
	head := outside.Commit("init")
	r := newTestRepo(t)
	r.Remove(".git/objects")
	r.Symlink(filepath.Join(outside.Dir, ".git", "objects"), ".git/objects")
	r.Write(".git/HEAD", head.String()+"\n")

	repo, err := OpenContext(r.Dir)
	if err == nil {
		_, err = repo.commit(head)
	}
	require.Error(t, err)
}

func TestLooseObjectHash(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"objects/01/" + hex[2:], true},
		{"objects/01/" + strings.ToUpper(hex[2:]), false},
		{"objects/pack/" + hex[2:], false},
		{"objects/0/" + hex[1:], false},
		{"objects/01/" + hex[2:39], false},
		{"refs/01/" + hex[2:], false},
		{"objects/01/" + hex[2:] + "/x", false},
		{"../objects/01/" + hex[2:], false},
	} {
		h, ok := LooseObjectHash(tc.rel)
		require.Equal(t, tc.ok, ok, tc.rel)
		if ok {
			require.Equal(t, hex, h.String())
		}
	}
}

func TestParseHash(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{hex, true},
		{strings.ToUpper(hex), false},
		{hex[:39], false},
		{hex + "8", false},
		{"../../" + hex[6:], false},
		{"", false},
	} {
		h, ok := ParseHash(tc.s)
		require.Equal(t, tc.ok, ok, tc.s)
		if ok {
			require.Equal(t, tc.s, h.String())
		}
	}
}
