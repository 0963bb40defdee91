package frontend

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/flant/dapp-frontend/llb/gitllb"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// countingReader counts requests, each of which is a gRPC round trip
// through the gateway.
type countingReader struct {
	dirReader
	stats, dirs atomic.Int64
}

func (c *countingReader) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	c.stats.Add(1)
	return c.dirReader.StatFile(ctx, req)
}

func (c *countingReader) ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	c.dirs.Add(1)
	return c.dirReader.ReadDir(ctx, req)
}

// packedRepoWithLoose is a packed history of 500 commits with one loose
// commit on top, as a work repository looks between two `git gc`s.
func packedRepoWithLoose(t *testing.T) string {
	dir := gittest.BigHistory(t, 500, 100)
	h := &gittest.Repo{T: t, Dir: dir, Clock: gittest.Tuesday.Add(time.Hour)}
	h.Write("src/d1/f1.txt", "loose")
	h.Commit("a loose commit on top of the pack")
	return dir
}

// TestReaderRoundTrips keeps the number of gateway requests of a plan and
// an archive small: packs are opened once, not once per object.
func TestReaderRoundTrips(t *testing.T) {
	t.Parallel()
	dir := packedRepoWithLoose(t)
	cr := &countingReader{dirReader: dirReader{root: dir}}
	repo, err := gitsource.OpenFS(newReaderFS(context.Background(), cr, ".git"))
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	p, _, err := gitsource.Plan(repo, head, depsMapping(), gitsource.PlanOpt{})
	require.NoError(t, err)
	_, err = gitllb.Apply(llb.Scratch(), p, p.ArchiveStep(), gitllb.ApplyOpt{})
	require.NoError(t, err)
	t.Logf("reads=%d stats=%d readdirs=%d", cr.reads.Load(), cr.stats.Load(), cr.dirs.Load())
	require.Less(t, cr.reads.Load()+cr.stats.Load()+cr.dirs.Load(), int64(100))
}

// TestReaderStatCache: the solved state never changes, so a file is
// stat'ed once, missing files too, and a directory listing answers the
// stats of its entries.
func TestReaderStatCache(t *testing.T) {
	t.Parallel()
	dir := gittest.New(t)
	dir.Write("a/b.txt", "b")
	dir.Commit("one")
	cr := &countingReader{dirReader: dirReader{root: dir.Dir}}
	fs := newReaderFS(context.Background(), cr, ".git")
	for range 3 {
		_, err := fs.Stat("HEAD")
		require.NoError(t, err)
		_, err = fs.Stat("packed-refs")
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	require.Equal(t, int64(2), cr.stats.Load(), "one stat per file, missing ones included")
	ents, err := fs.ReadDir("refs/heads")
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	f, err := fs.Open("refs/heads/" + ents[0].Name())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, int64(2), cr.stats.Load(), "the listing answered the stat of its entry")
}

// TestReaderPrefetch: after prefetch, opening and planning a small
// repository asks the gateway for little more than the loose objects and
// refs; the packs and directory listings come from the cache.
func TestReaderPrefetch(t *testing.T) {
	t.Parallel()
	dir := packedRepoWithLoose(t)
	ahead := &countingReader{dirReader: dirReader{root: dir}}
	later := &countingReader{dirReader: dirReader{root: dir}}
	fs := newReaderFS(context.Background(), later, ".git").(*readerFS)
	fs.prefetch(ahead)
	require.Positive(t, ahead.dirs.Load())
	require.Positive(t, ahead.reads.Load())
	repo, err := gitsource.OpenFS(fs)
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	_, _, err = gitsource.Plan(repo, head, depsMapping(), gitsource.PlanOpt{})
	require.NoError(t, err)
	t.Logf("ahead: reads=%d readdirs=%d; later: reads=%d stats=%d readdirs=%d", ahead.reads.Load(), ahead.dirs.Load(), later.reads.Load(), later.stats.Load(), later.dirs.Load())
	require.Zero(t, later.dirs.Load(), "listings come from the cache")
	require.Less(t, later.reads.Load()+later.stats.Load(), int64(20))
}

type slowReader struct{ countingReader }

func (s *slowReader) ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error) {
	time.Sleep(20 * time.Millisecond)
	return s.countingReader.ReadFile(ctx, req)
}

// TestReaderChunkReadOnce: goroutines asking for one chunk at the same
// time (prefetch and go-git) share one gateway read.
func TestReaderChunkReadOnce(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("a.txt", "a")
	h.Commit("one")
	sr := &slowReader{countingReader{dirReader: dirReader{root: h.Dir}}}
	fs := newReaderFS(context.Background(), sr, ".git").(*readerFS)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dt, err := fs.fetchChunk(sr, ".git/HEAD", 0, 5)
			assert.NoError(t, err)
			assert.Equal(t, "ref: ", string(dt))
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), sr.reads.Load())
}
