package gitsource

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// cacheEntries lists the blob files of a cache by path.
func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

// TestExportBlobCache: the first export fills the cache, the next ones
// write the same tree from it; an entry that was tampered with, cut short
// or replaced by a symlink is not used (the file comes from the
// repository, as git archive has it) and is dropped or rewritten.
func TestExportBlobCache(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	head := plumbing.NewHash(h.Git("rev-parse", "HEAD"))
	mtime := time.Unix(1767693600, 0)
	spec := ExportSpec{Add: "/", To: head, Mtime: mtime}
	want := archiveOf(t, h.Dir, "HEAD")
	cache := &BlobCache{Dir: t.TempDir()}

	out := t.TempDir() + "/a"
	require.NoError(t, ExportCached(h.open(), spec, out, cache))
	require.Equal(t, want, exported(t, out, mtime))
	entries := cacheEntries(t, cache.Dir)
	require.GreaterOrEqual(t, len(entries), 3, "every file's blob is cached")

	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("not yours\n"), 0o600))
	require.NoError(t, os.WriteFile(entries[0], []byte("tampered\n"), 0o644))
	dt, err := os.ReadFile(entries[1])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(entries[1], dt[:len(dt)/2], 0o644))
	require.NoError(t, os.Remove(entries[2]))
	require.NoError(t, os.Symlink(secret, entries[2]))

	for i := range 2 {
		out := filepath.Join(t.TempDir(), "b")
		require.NoError(t, ExportCached(h.open(), spec, out, cache))
		require.Equal(t, want, exported(t, out, mtime), "export %d", i)
	}
	for _, e := range entries[:3] {
		fi, err := os.Lstat(e)
		require.NoError(t, err, "rewritten from the repository")
		require.True(t, fi.Mode().IsRegular(), e)
		dt, err := os.ReadFile(e)
		require.NoError(t, err)
		hs := plumbing.NewHasher(plumbing.BlobObject, int64(len(dt)))
		hs.Write(dt)
		require.Equal(t, filepath.Base(filepath.Dir(e))+filepath.Base(e), hs.Sum().String(), "valid again")
	}
}

// TestBlobCachePrune: past the limit the least recently used entries go,
// and temporary files left by a helper that died are removed.
func TestBlobCachePrune(t *testing.T) {
	t.Parallel()
	c := &BlobCache{Dir: t.TempDir()}
	old := time.Now().Add(-2 * time.Hour)
	for i, name := range []string{"aa/old", "bb/mid", "cc/new", "cc/.tmp-1"} {
		p := filepath.Join(c.Dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, make([]byte, 100), 0o644))
		ts := old.Add(time.Duration(i) * time.Minute)
		require.NoError(t, os.Chtimes(p, ts, ts))
	}
	require.NoError(t, c.Prune(1000))
	require.Len(t, cacheEntries(t, c.Dir), 3, "under the limit only the stale temporary file goes")
	require.NoError(t, c.Prune(150))
	require.Equal(t, []string{filepath.Join(c.Dir, "cc/new")}, cacheEntries(t, c.Dir))
	require.NoError(t, (&BlobCache{Dir: filepath.Join(c.Dir, "missing")}).Prune(0), "a cache never written is empty")
}

// TestBlobCacheStaysInside: a fan-out directory replaced by a symlink (to
// the export's output, say) is never written through or read from.
func TestBlobCacheStaysInside(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	head := plumbing.NewHash(h.Git("rev-parse", "HEAD"))
	spec := ExportSpec{Add: "/", To: head, Mtime: time.Unix(1767693600, 0)}
	cache := &BlobCache{Dir: t.TempDir()}
	require.NoError(t, ExportCached(h.open(), spec, t.TempDir()+"/a", cache))
	outside := t.TempDir()
	for _, e := range cacheEntries(t, cache.Dir) {
		fan := filepath.Dir(e)
		require.NoError(t, os.RemoveAll(fan))
		require.NoError(t, os.Symlink(outside, fan))
	}
	out := t.TempDir() + "/b"
	require.NoError(t, ExportCached(h.open(), spec, out, cache))
	require.Equal(t, archiveOf(t, h.Dir, "HEAD"), exported(t, out, spec.Mtime))
	left, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, left, "nothing written through the links")
	require.NoError(t, cache.Prune(0))
}
