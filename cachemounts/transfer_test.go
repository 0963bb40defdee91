//go:build unix

package cachemounts

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var cacheTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// writeCache fills dir like a package cache: files, a read-only
// directory, links that point out of the cache, and a named pipe.
func writeCache(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "archives/partial"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "archives/hello_2.10_amd64.deb"), []byte("deb content"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "archives/lock"), nil, 0o640))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ro"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ro/index"), []byte("index"), 0o444))
	require.NoError(t, os.Chmod(filepath.Join(dir, "ro"), 0o555))
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "etc-link")))
	require.NoError(t, os.Symlink("../../../../etc/passwd", filepath.Join(dir, "archives/up-link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	for _, p := range []string{"archives/hello_2.10_amd64.deb", "ro/index", "archives/partial", "archives", "ro"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, p), cacheTime, cacheTime))
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "ro"), 0o755) })
}

func requireCacheCopy(t *testing.T, dir string) {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, "archives/hello_2.10_amd64.deb"))
	require.NoError(t, err)
	require.Equal(t, "deb content", string(dt))
	for p, want := range map[string]fs.FileMode{"archives/lock": 0o640, "ro/index": 0o444, "ro": fs.ModeDir | 0o555, "archives/partial": fs.ModeDir | 0o755} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		require.NoError(t, err)
		require.Equal(t, want, fi.Mode(), p)
	}
	for _, p := range []string{"archives/hello_2.10_amd64.deb", "archives", "ro"} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		require.NoError(t, err)
		require.True(t, fi.ModTime().Equal(cacheTime), "%s keeps its mtime: %s", p, fi.ModTime())
	}
	// links are copied as links, never followed
	for p, want := range map[string]string{"etc-link": "/etc", "archives/up-link": "../../../../etc/passwd"} {
		got, err := os.Readlink(filepath.Join(dir, p))
		require.NoError(t, err, p)
		require.Equal(t, want, got)
	}
	_, err = os.Lstat(filepath.Join(dir, "fifo"))
	require.ErrorIs(t, err, fs.ErrNotExist, "a pipe is not copied")
}

func TestSaveThenSeed(t *testing.T) {
	t.Parallel()
	apt, empty, out, seeded := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeCache(t, apt)
	require.NoError(t, os.WriteFile(filepath.Join(apt, "pkgcache.bin"), make([]byte, 100), 0o644))
	var log bytes.Buffer
	aptDir, emptyDir := DirName("ns/dapp/auto/apt/archives"), DirName("dapp/auto/npm")
	require.Equal(t, "ns%2Fdapp%2Fauto%2Fapt%2Farchives", aptDir)
	err := Save(TransferOpt{Saved: out, MaxSize: 1 << 20, Log: &log,
		Mounts: []TransferMount{{Dir: aptDir, Path: apt, NotSaved: []string{"pkgcache.bin", "srcpkgcache.bin"}}, {Dir: emptyDir, Path: empty}}})
	require.NoError(t, err)
	_, err = os.Lstat(filepath.Join(out, aptDir, "pkgcache.bin"))
	require.ErrorIs(t, err, fs.ErrNotExist, "what the tool rebuilds is not saved")
	require.Contains(t, log.String(), "cache ns/dapp/auto/apt/archives: saved 16 bytes in 8 entries\n")
	require.Contains(t, log.String(), "cache dapp/auto/npm: empty, not saved\n")
	requireCacheCopy(t, filepath.Join(out, aptDir))
	_, err = os.Stat(filepath.Join(out, emptyDir))
	require.ErrorIs(t, err, fs.ErrNotExist)

	log.Reset()
	err = Seed(TransferOpt{Saved: out, MaxSize: 1 << 20, Log: &log,
		Mounts: []TransferMount{{Dir: aptDir, Path: seeded}, {Dir: emptyDir, Path: empty}}})
	require.NoError(t, err)
	require.Contains(t, log.String(), "cache ns/dapp/auto/apt/archives: seeded 16 bytes in 8 entries\n")
	require.Contains(t, log.String(), "cache dapp/auto/npm: nothing saved\n")
	requireCacheCopy(t, seeded)
}

func TestSeedKeepsAFilledCache(t *testing.T) {
	t.Parallel()
	saved, cache := t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(saved, "c"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(saved, "c/old"), []byte("saved"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(cache, "new"), []byte("local"), 0o644))
	var log bytes.Buffer
	require.NoError(t, Seed(TransferOpt{Saved: saved, MaxSize: 1 << 20, Log: &log, Mounts: []TransferMount{{Dir: "c", Path: cache}}}))
	require.Equal(t, "cache c: already holds files, kept\n", log.String())
	_, err := os.Stat(filepath.Join(cache, "old"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestTransferSizeLimit(t *testing.T) {
	t.Parallel()
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(a, "f"), make([]byte, 600), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(b, "f"), make([]byte, 600), 0o644))
	var log bytes.Buffer
	require.NoError(t, Save(TransferOpt{Saved: out, MaxSize: 1000, Log: &log,
		Mounts: []TransferMount{{Dir: "a", Path: a}, {Dir: "b", Path: b}}}))
	require.Equal(t, "cache a: saved 600 bytes in 1 entries\n"+
		"cache b: 600 bytes in 1 entries, over what the size limit leaves (400 bytes): not saved\n", log.String())
	_, err := os.Stat(filepath.Join(out, "b"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	cache := t.TempDir()
	log.Reset()
	require.NoError(t, Seed(TransferOpt{Saved: out, MaxSize: 100, Log: &log, Mounts: []TransferMount{{Dir: "a", Path: cache}}}))
	require.Equal(t, "cache a: 600 bytes in 1 entries saved, over what the size limit leaves (100 bytes): not seeded\n", log.String())
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing of a cache over the limit is copied")
}

func TestTransferRefusesBadDirs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, dir, err string }{
		{"parent", "..", `cache directory ".." is not one path element`},
		{"nested", "a/../../b", `cache directory "a/../../b" is not one path element`},
		{"empty", "", `cache directory "" is not one path element`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := TransferOpt{Saved: t.TempDir(), MaxSize: 1 << 20, Log: &bytes.Buffer{}, Mounts: []TransferMount{{Dir: tc.dir, Path: t.TempDir()}}}
			require.EqualError(t, Save(o), tc.err)
			require.EqualError(t, Seed(o), tc.err)
		})
	}
}

// TestSeedSavedLinkIsNotFollowed: a saved "directory" that is a link (a
// hostile image) is refused instead of read through.
func TestSeedSavedLinkIsNotFollowed(t *testing.T) {
	t.Parallel()
	saved, cache := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink("/etc", filepath.Join(saved, "c")))
	err := Seed(TransferOpt{Saved: saved, MaxSize: 1 << 20, Log: &bytes.Buffer{}, Mounts: []TransferMount{{Dir: "c", Path: cache}}})
	require.EqualError(t, err, "cache c: saved content c is not a directory")
}

func TestTransferArgs(t *testing.T) {
	t.Parallel()
	o := TransferOpt{Saved: "/saved", MaxSize: 42, Mounts: []TransferMount{{Dir: "a%2Fb", Path: "/c/0"}, {Dir: "c", Path: "/c/1"}}}
	require.Equal(t, []string{"--saved", "/saved", "--max-size", "42", "--mount", "a%2Fb=/c/0", "--mount", "c=/c/1"}, o.Args())
}
