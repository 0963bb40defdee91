package frontend

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/stretchr/testify/require"
)

// TestReadAheadKeepsThePlan: the read-ahead only fills the cache, so the
// plan and every step's content are the same as from disk: with deltas
// in the pack (trees and blobs), loose commits on top, and chunks
// smaller than the objects, so spans and chunks meet inside them.
func TestReadAheadKeepsThePlan(t *testing.T) {
	t.Parallel()
	deltas := func(t *testing.T) string {
		h := gittest.New(t)
		for c := range 12 {
			h.Write("package.json", strings.Repeat("dependency\n", c/4+1))
			for f := range 20 {
				h.Write(filepath.Join("src", string(rune('a'+f%4)), "f"+string(rune('a'+f))+".txt"), strings.Repeat("line of text\n", 50+c*f))
			}
			h.Commit("change")
		}
		h.Git("gc", "-q", "--aggressive")
		h.Write("src/a/fa.txt", "loose")
		h.Commit("loose on top")
		return h.Dir
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"deltas in a pack, a loose commit on top", deltas},
		{"never packed", func(t *testing.T) string {
			h := gittest.NewMixed(t)
			h.Write("package.json", "{}")
			h.Commit("deps")
			h.Write("src/app/main.go", "package main // v2\n")
			h.Commit("v2")
			return h.Dir
		}},
		{"fast-import pack", func(t *testing.T) string { return gittest.BigHistory(t, 300, 40) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := tc.dir(t)
			onDisk, err := gitsource.OpenDir(dir)
			require.NoError(t, err)
			want := planSummary(t, onDisk, depsMapping())

			ahead := &countingReader{dirReader: dirReader{root: dir}}
			later := &countingReader{dirReader: dirReader{root: dir}}
			fs := newReaderFS(context.Background(), later, ".git").(*readerFS)
			fs.chunkSize = 4 << 10
			fs.prefetch(ahead)
			require.Positive(t, ahead.reads.Load())
			repo, err := gitsource.OpenFS(fs)
			require.NoError(t, err)
			require.Equal(t, want, planSummary(t, repo, depsMapping()))
		})
	}
}

// TestReadAheadStaysInGit: whatever HEAD, the refs and the pack
// directory name, the read-ahead asks only for paths inside .git.
func TestReadAheadStaysInGit(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("a.txt", "a")
	h.Commit("one")
	h.Git("gc", "-q")
	outside := filepath.Join(h.Dir, "outside")
	require.NoError(t, os.WriteFile(outside, []byte("not git"), 0o644))
	for _, head := range []string{
		"ref: refs/../../outside\n",
		"ref: ../outside\n",
		"ref: /outside\n",
		"ref: refs/heads/../../../outside\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(h.Dir, ".git/HEAD"), []byte(head), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(h.Dir, ".git/objects/pack/x.idx"), []byte("junk"), 0o644))
		rec := &gatewayRecorder{dirReader: dirReader{root: h.Dir}}
		fs := newReaderFS(context.Background(), rec, ".git").(*readerFS)
		fs.prefetch(rec)
		for _, c := range rec.calls {
			require.True(t, c.path == ".git" || strings.HasPrefix(c.path, ".git/"), "%s %q reads %s", c.kind, head, c.path)
			require.NotContains(t, c.path, "..")
			require.NotContains(t, c.path, "outside")
		}
	}
}

// TestReadAheadCorruptRepository: corrupt objects and pack indexes stop
// the read-ahead where they are, and go-git meets them as without it.
func TestReadAheadCorruptRepository(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("package.json", "{}")
	h.Write("src/a.txt", "a")
	h.Commit("one")
	h.Git("gc", "-q")
	h.Write("src/b.txt", "b")
	h.Commit("two")
	tree := h.Git("rev-parse", "HEAD:src")
	obj := filepath.Join(h.Dir, ".git/objects", tree[:2], tree[2:])
	require.NoError(t, os.Chmod(obj, 0o644))
	require.NoError(t, os.WriteFile(obj, []byte("x\x9c garbage that does not inflate"), 0o644))
	packs, err := filepath.Glob(filepath.Join(h.Dir, ".git/objects/pack/*.idx"))
	require.NoError(t, err)
	require.Len(t, packs, 1)
	require.NoError(t, os.Chmod(packs[0], 0o644))
	require.NoError(t, os.WriteFile(packs[0], []byte("\xfftOc\x00\x00\x00\x02 truncated"), 0o644))

	plan := func(prefetch bool) string {
		fs := newReaderFS(context.Background(), &dirReader{root: h.Dir}, ".git").(*readerFS)
		if prefetch {
			done := make(chan struct{})
			go func() { defer close(done); fs.prefetch(&dirReader{root: h.Dir}) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the read-ahead does not end")
			}
		}
		repo, err := gitsource.OpenFS(fs)
		if err != nil {
			return err.Error()
		}
		head, err := repo.Head()
		if err != nil {
			return err.Error()
		}
		_, _, err = gitsource.Plan(repo, head, depsMapping(), gitsource.PlanOpt{})
		require.Error(t, err)
		return err.Error()
	}
	require.Equal(t, plan(false), plan(true))
}

// cancelAfter cancels its context at its n-th request.
type cancelAfter struct {
	gatewayRecorder
	n      atomic.Int64
	at     int64
	cancel context.CancelFunc
	// stoppedAt is how many requests were answered when it cancelled
	stoppedAt int
}

func (c *cancelAfter) ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error) {
	if c.n.Add(1) == c.at {
		c.mu.Lock()
		c.stoppedAt = len(c.calls)
		c.mu.Unlock()
		c.cancel()
	}
	return c.gatewayRecorder.ReadFile(ctx, req)
}

// TestReadAheadStops: once the build no longer needs it (the reader's
// requests fail), the read-ahead ends, and go-git reads for itself what
// it still needs, a read it waited on included.
func TestReadAheadStops(t *testing.T) {
	t.Parallel()
	h := appHistory(t, 60, 10)
	onDisk, err := gitsource.OpenDir(h.Dir)
	require.NoError(t, err)
	want := planSummary(t, onDisk, depsMapping())
	for _, at := range []int64{1, 5, 20} {
		stop, cancel := context.WithCancel(context.Background())
		ahead := &cancelAfter{gatewayRecorder: gatewayRecorder{dirReader: dirReader{root: h.Dir}}, at: at, cancel: cancel}
		fs := newReaderFS(context.Background(), &dirReader{root: h.Dir}, ".git").(*readerFS)
		fs.prefetch(stoppable{ahead, stop})
		require.LessOrEqual(t, len(ahead.calls)-ahead.stoppedAt, prefetchParallel+prefetchBackground,
			"only the requests in flight end after the stop")
		repo, err := gitsource.OpenFS(fs)
		require.NoError(t, err)
		require.Equal(t, want, planSummary(t, repo, depsMapping()))
	}
}
