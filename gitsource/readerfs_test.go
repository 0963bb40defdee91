package gitsource

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-billy/v5"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// dirReader serves a directory the way the gateway serves a solved state:
// paths relative to the root, ranged reads, and plain (gRPC-like) errors
// for missing files.
type dirReader struct {
	root  string
	reads atomic.Int64
}

var _ FileReader = (*dirReader)(nil)

func (d *dirReader) ReadFile(_ context.Context, req gwclient.ReadRequest) ([]byte, error) {
	d.reads.Add(1)
	dt, err := os.ReadFile(filepath.Join(d.root, req.Filename))
	if err != nil {
		return nil, errors.Errorf("rpc error: code = Unknown desc = %v", err)
	}
	if r := req.Range; r != nil {
		end := min(r.Offset+r.Length, len(dt))
		dt = dt[r.Offset:end]
	}
	return dt, nil
}

func (d *dirReader) ReadDir(_ context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	ents, err := os.ReadDir(filepath.Join(d.root, req.Path))
	if err != nil {
		return nil, errors.Errorf("rpc error: %v", err)
	}
	var out []*fstypes.Stat
	for _, e := range ents {
		st, err := d.StatFile(context.Background(), gwclient.StatRequest{Path: filepath.Join(req.Path, e.Name())})
		if err != nil {
			return nil, err
		}
		st.Path = e.Name()
		out = append(out, st)
	}
	return out, nil
}

func (d *dirReader) StatFile(_ context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	fi, err := os.Lstat(filepath.Join(d.root, req.Path))
	if err != nil {
		return nil, errors.Errorf("rpc error: %v", err)
	}
	st := &fstypes.Stat{Path: req.Path, Mode: uint32(fi.Mode()), Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	if fi.Mode()&os.ModeSymlink != 0 {
		st.Linkname, _ = os.Readlink(filepath.Join(d.root, req.Path))
	}
	return st, nil
}

func TestReaderFSFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := []byte("0123456789abcdefghij")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "f"), content, 0o644))
	dr := &dirReader{root: dir}
	fs := NewReaderFS(context.Background(), dr, "/").(*readerFS)
	fs.chunkSize = 7

	f, err := fs.Open("sub/f")
	require.NoError(t, err)
	buf := make([]byte, 10)
	n, err := f.ReadAt(buf, 5)
	require.NoError(t, err)
	require.Equal(t, "56789abcde", string(buf[:n]))
	n, err = f.ReadAt(buf, 15)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, "fghij", string(buf[:n]))

	_, err = f.Seek(18, io.SeekStart)
	require.NoError(t, err)
	all, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "ij", string(all))
	require.Equal(t, int64(3), dr.reads.Load(), "each 7-byte chunk is read once")

	_, err = fs.Stat("missing")
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = fs.OpenFile("sub/f", os.O_RDWR, 0)
	require.ErrorIs(t, err, billy.ErrReadOnly)

	infos, err := fs.ReadDir("sub")
	require.NoError(t, err)
	require.Len(t, infos, 1)
	require.Equal(t, "f", infos[0].Name())
	require.Equal(t, int64(20), infos[0].Size())

	sub, err := fs.Chroot("sub")
	require.NoError(t, err)
	fi, err := sub.Stat("f")
	require.NoError(t, err)
	require.False(t, fi.IsDir())
}

// TestOpenFSThroughReader opens a packed repository through the reader
// adapter, as the frontend does through the gateway, and checks that it
// plans exactly like a repository opened from disk.
func TestOpenFSThroughReader(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	h.write("package.json", "{}")
	h.write("src/a", "a")
	h.commitAs("c0", "init")
	h.git("gc", "-q")
	h.write("package.json", "{1}")
	h.commitAs("c1", "deps")
	h.write("src/b", "b")
	h.commitAs("c2", "loose object on top of a pack")

	dr := &dirReader{root: h.dir}
	fs := NewReaderFS(context.Background(), dr, ".git").(*readerFS)
	fs.chunkSize = 512
	repo, err := OpenFS(fs)
	require.NoError(t, err)
	head, err := repo.Head()
	require.NoError(t, err)
	p, _, err := Plan(repo, head, depsMapping(), PlanOpt{})
	require.NoError(t, err)
	require.Equal(t, "archive@c0 install:c0..c1 setup:c1..c2", stepsString(p, h.names))

	viaFS := marshalBytes(t, chainState(t, p))
	require.Equal(t, marshalBytes(t, chainState(t, mustPlan(t, h.dir, depsMapping()))), viaFS)
}

func TestOpenFSNotRepository(t *testing.T) {
	t.Parallel()
	fs := NewReaderFS(context.Background(), &dirReader{root: t.TempDir()}, ".git")
	_, err := OpenFS(fs)
	require.ErrorIs(t, err, ErrNotRepository)
}
