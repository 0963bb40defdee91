package frontend

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWarmListings: the work tree's directories are listed breadth first,
// several at a time (a round trip per level, not per directory), so the
// walk of the uncommitted-change check then lists nothing itself; and no
// more than max directories are listed ahead.
func TestWarmListings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"a/x/1", "a/x/2", "a/y", "b/z", "c", "d/e/f/g"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, d, "file"), []byte(d), 0o644))
	}
	rec := &gatewayRecorder{dirReader: dirReader{root: dir}, delay: 2 * time.Millisecond}
	fs := newReaderFS(context.Background(), rec, "/").(*readerFS)
	fs.warmListings(maxWarmListings)
	ahead := rec.figures()
	require.Equal(t, 13, ahead.dirs, "every directory once:\n%s", rec.dump())
	require.LessOrEqual(t, ahead.rounds, 6, "a round trip per level (5), not per directory")

	var walk func(string) int
	walk = func(p string) int {
		ents, err := fs.ReadDir(p)
		require.NoError(t, err)
		n := 1
		for _, e := range ents {
			if e.IsDir() {
				n += walk(filepath.Join(p, e.Name()))
			}
		}
		return n
	}
	require.Equal(t, 13, walk("/"))
	require.Equal(t, ahead, rec.figures(), "the walk listed nothing itself")

	rec = &gatewayRecorder{dirReader: dirReader{root: dir}}
	fs = newReaderFS(context.Background(), rec, "/").(*readerFS)
	fs.warmListings(3)
	require.Equal(t, 3, rec.figures().dirs)
}
