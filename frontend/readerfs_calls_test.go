package frontend

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/flant/dapp-frontend/llb/gitllb"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/stretchr/testify/require"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// countingReader counts requests, each of which is a gRPC round trip
// through the gateway.
type countingReader struct {
	dirReader
	stats, dirs int
}

func (c *countingReader) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	c.stats++
	return c.dirReader.StatFile(ctx, req)
}

func (c *countingReader) ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	c.dirs++
	return c.dirReader.ReadDir(ctx, req)
}

// TestReaderRoundTrips keeps the number of gateway requests of a plan and
// an archive small: packs are opened once, not once per object.
func TestReaderRoundTrips(t *testing.T) {
	t.Parallel()
	dir := gittest.BigHistory(t, 500, 100)
	h := &gittest.Repo{T: t, Dir: dir, Clock: gittest.Tuesday.Add(time.Hour)}
	h.Write("src/d1/f1.txt", "loose")
	h.Commit("a loose commit on top of the pack")
	cr := &countingReader{dirReader: dirReader{root: dir}}
	repo, err := gitsource.OpenFS(newReaderFS(context.Background(), cr, ".git"))
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	p, _, err := gitsource.Plan(repo, head, depsMapping(), gitsource.PlanOpt{})
	require.NoError(t, err)
	_, err = gitllb.Apply(llb.Scratch(), p, p.ArchiveStep(), gitllb.ApplyOpt{})
	require.NoError(t, err)
	t.Logf("reads=%d stats=%d readdirs=%d", cr.reads.Load(), cr.stats, cr.dirs)
	require.Less(t, int(cr.reads.Load())+cr.stats+cr.dirs, 100)
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
	require.Equal(t, 2, cr.stats, "one stat per file, missing ones included")
	ents, err := fs.ReadDir("refs/heads")
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	f, err := fs.Open("refs/heads/" + ents[0].Name())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, 2, cr.stats, "the listing answered the stat of its entry")
}
