package gitsource

import (
	"io"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// TestRecentBlobs: the blobs the newest commits changed or added, newest
// first, within the size bounds; the walk stops before the commit that
// takes the change to MaxBytes, and at MaxCommits.
func TestRecentBlobs(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	blob := func(s string) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, []byte(s)) }
	old := strings.Repeat("o", 4000)
	h.Write("old.txt", old)
	h.Commit("old")
	big := strings.Repeat("b", 900)
	h.Write("big.txt", big)
	h.Write("tiny.txt", "t")
	h.Commit("big")
	mid, top := strings.Repeat("m", 300), strings.Repeat("n", 200)
	h.Write("dir/mid.txt", mid)
	h.Symlink("mid.txt", "dir/link")
	h.Remove("tiny.txt")
	h.Commit("mid")
	h.Write("dir/mid.txt", top)
	h.Write("again.txt", mid)
	h.Commit("top")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	recent := func(opt RecentOpt) []plumbing.Hash {
		got, err := RecentBlobs(repo, head, opt)
		require.NoError(t, err)
		return got
	}
	all := RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}
	// newest commit first, a commit's files in path order (again.txt,
	// then dir/mid.txt)
	require.Equal(t, []plumbing.Hash{blob(mid), blob(top), blob(big), blob(old)}, recent(all),
		"each blob once, no symlink, nothing below MinSize")
	// top changes 300 + 200 bytes, mid nothing new, big adds 901: the walk
	// stops before it
	require.Equal(t, []plumbing.Hash{blob(mid), blob(top)}, recent(RecentOpt{MaxCommits: 10, MaxBytes: 1400, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(mid), blob(top), blob(big)}, recent(RecentOpt{MaxCommits: 10, MaxBytes: 1402, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(mid), blob(top)}, recent(RecentOpt{MaxCommits: 1, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(mid), blob(big)}, recent(RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 250, MaxSize: 1000}))

	// top changes 2 files, mid 3, big 2: a bound of 5 ends the walk
	// before mid
	require.Equal(t, []plumbing.Hash{blob(mid), blob(top)}, recent(RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 5, MinSize: 2, MaxSize: 1 << 20}))

	rd, err := repo.OpenBlob(blob(big))
	require.NoError(t, err)
	defer rd.Close()
	data, err := io.ReadAll(rd)
	require.NoError(t, err)
	require.Equal(t, big, string(data))
}

func TestTopBlobs(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	blob := func(s string) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, []byte(s)) }
	lock, readme := strings.Repeat("l", 500), strings.Repeat("r", 300)
	sub, deep, small := strings.Repeat("s", 400), strings.Repeat("d", 600), "x"
	h.Write("package-lock.json", lock)
	h.Write("README", readme)
	h.Write("copy", lock)
	h.Write("tiny", small)
	h.Write("web/yarn.lock", sub)
	h.Write("web/src/deep.js", deep)
	h.Symlink("README", "link")
	h.Commit("one")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	top := func(depth int, skip map[plumbing.Hash]bool, opt RecentOpt) []plumbing.Hash {
		got, err := TopBlobs(repo, head, depth, skip, opt)
		require.NoError(t, err)
		return got
	}
	all := RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}
	// the top's files in tree order (README, copy = lock, package-lock.json
	// is the same blob), then web/'s; nothing deeper, no symlink, nothing
	// below MinSize
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock), blob(sub)}, top(1, nil, all))
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock)}, top(0, nil, all))
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock), blob(sub), blob(deep)}, top(2, nil, all))
	require.Equal(t, []plumbing.Hash{blob(lock), blob(sub)}, top(1, map[plumbing.Hash]bool{blob(readme): true}, all))
	// 300 + 500 fit in 800, the next 400 does not
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock)}, top(1, nil, RecentOpt{MaxCommits: 10, MaxBytes: 800, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(readme)}, top(1, nil, RecentOpt{MaxCommits: 10, MaxBytes: 799, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	// README is sized first: one file sized lists it alone; README, copy,
	// tiny and web/ (read) are four, which end before web/'s file (the
	// link is no file, package-lock.json the blob copy has)
	require.Equal(t, []plumbing.Hash{blob(readme)}, top(1, nil, RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 1, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock)}, top(1, nil, RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 4, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(readme), blob(lock), blob(sub)}, top(1, nil, RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 5, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(lock), blob(deep)}, top(2, nil, RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 450, MaxSize: 1 << 20}))
}

// TestTopBlobsOfOlderCommits: an older version of a top file (the one an
// archive of an older commit writes) comes after the newest commit's
// files, older commits give only their top, a tree seen already is not
// read again, and MaxCommits bounds the walk.
func TestTopBlobsOfOlderCommits(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	blob := func(s string) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, []byte(s)) }
	v1, v2, sub := strings.Repeat("1", 500), strings.Repeat("2", 600), strings.Repeat("s", 400)
	oldSub := strings.Repeat("o", 700)
	h.Write("package-lock.json", v1)
	h.Write("web/yarn.lock", oldSub)
	h.Commit("one")
	h.Write("package-lock.json", v2)
	h.Write("web/yarn.lock", sub)
	h.Commit("two")
	h.Commit("empty")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	top := func(opt RecentOpt) []plumbing.Hash {
		got, err := TopBlobs(repo, head, 1, nil, opt)
		require.NoError(t, err)
		return got
	}
	// web/'s older yarn.lock is not listed: below head, only the top
	require.Equal(t, []plumbing.Hash{blob(v2), blob(sub), blob(v1)}, top(RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(v2), blob(sub)}, top(RecentOpt{MaxCommits: 2, MaxBytes: 1 << 20, MaxFiles: 100, MinSize: 2, MaxSize: 1 << 20}),
		"the empty commit and two: one tree, walked once")
	// v2, web/ and its file, then v1: four
	require.Equal(t, []plumbing.Hash{blob(v2), blob(sub), blob(v1)}, top(RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 4, MinSize: 2, MaxSize: 1 << 20}))
	require.Equal(t, []plumbing.Hash{blob(v2), blob(sub)}, top(RecentOpt{MaxCommits: 10, MaxBytes: 1 << 20, MaxFiles: 3, MinSize: 2, MaxSize: 1 << 20}))
}
