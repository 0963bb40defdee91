package gitsource

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// TestLooseBlobSizeMatchesGoGit reads the sizes of loose blobs from a
// prefix of their files, as blobSize does, and compares them with what
// go-git reads inflating the whole header: for empty, tiny, compressible
// and incompressible blobs (git stores those in stored blocks), and a
// large one. A tree, a missing object and a corrupt or truncated file give
// no size, so go-git reads them.
func TestLooseBlobSizeMatchesGoGit(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	random := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return string(b)
	}
	files := map[string]string{
		"empty":        "",
		"tiny":         "x",
		"text":         strings.Repeat("hello, world\n", 20000),
		"random":       random(100 << 10),
		"random-hex":   hex.EncodeToString([]byte(random(64 << 10))),
		"large-random": random(3 << 20),
	}
	for name, content := range files {
		r.Write(name, content)
	}
	head := r.Commit("blobs")
	repo := r.open()
	c, err := repo.r.CommitObject(head)
	require.NoError(t, err)
	tree, err := c.Tree()
	require.NoError(t, err)
	for name, content := range files {
		f, err := tree.File(name)
		require.NoError(t, err)
		n, ok := repo.looseBlobSize(f.Hash)
		require.True(t, ok, name)
		require.Equal(t, int64(len(content)), n, name)
		viaGoGit, err := repo.r.Storer.(interface {
			EncodedObjectSize(plumbing.Hash) (int64, error)
		}).EncodedObjectSize(f.Hash)
		require.NoError(t, err)
		require.Equal(t, viaGoGit, n, name)
		got, err := repo.blobSize(f.Hash)
		require.NoError(t, err)
		require.Equal(t, n, got, name)
	}
	_, ok := repo.looseBlobSize(tree.Hash)
	require.False(t, ok, "a tree is not a blob")
	_, ok = repo.looseBlobSize(plumbing.NewHash(strings.Repeat("ab", 20)))
	require.False(t, ok, "a missing object")

	// a corrupt and a truncated loose file: no size from the prefix
	text, err := tree.File("text")
	require.NoError(t, err)
	random64, err := tree.File("random-hex")
	require.NoError(t, err)
	objPath := func(h plumbing.Hash) string {
		s := h.String()
		return filepath.Join(r.Dir, ".git", "objects", s[:2], s[2:])
	}
	require.NoError(t, os.Chmod(objPath(text.Hash), 0o644))
	require.NoError(t, os.WriteFile(objPath(text.Hash), []byte("not zlib at all"), 0o644))
	require.NoError(t, os.Chmod(objPath(random64.Hash), 0o644))
	require.NoError(t, os.Truncate(objPath(random64.Hash), 3))
	fresh := r.open()
	for _, h := range []plumbing.Hash{text.Hash, random64.Hash} {
		_, ok := fresh.looseBlobSize(h)
		require.False(t, ok, h.String())
	}
}
