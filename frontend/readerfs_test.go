package frontend

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/assert"
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

var _ fileReader = (*dirReader)(nil)

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
	fs := newReaderFS(context.Background(), dr, "/").(*readerFS)
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
	h := gittest.New(t)
	h.Write("package.json", "{}")
	h.Write("src/a", "a")
	h.Commit("init")
	h.Git("gc", "-q")
	h.Write("package.json", "{1}")
	h.Commit("deps")
	h.Write("src/b", "b")
	h.Commit("loose object on top of a pack")

	dr := &dirReader{root: h.Dir}
	fs := newReaderFS(context.Background(), dr, ".git").(*readerFS)
	fs.chunkSize = 512
	repo, err := gitsource.OpenFS(fs)
	require.NoError(t, err)
	viaFS := planSummary(t, repo, depsMapping())
	require.Len(t, viaFS, 3*2, "archive, patch before install, patch before setup")

	onDisk, err := gitsource.OpenDir(h.Dir)
	require.NoError(t, err)
	require.Equal(t, planSummary(t, onDisk, depsMapping()), viaFS)
}

// TestUncommittedThroughReader: the reader adapter over the context sees
// the same uncommitted files as the work tree on disk.
func TestUncommittedThroughReader(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write(".gitignore", "*.log\n")
	h.Write("app/a.go", "a")
	h.Write("app/b.go", "b")
	h.Commit("init")
	h.Write("app/a.go", "changed")
	h.Remove("app/b.go")
	h.Write("app/new.go", "untracked")
	h.Write("app/debug.log", "ignored")
	repo, err := gitsource.OpenDir(h.Dir)
	require.NoError(t, err)
	m := &dappfile.GitMapping{Add: "/app", To: "/app"}
	onDisk, err := repo.Uncommitted(osfs.New(h.Dir), m)
	require.NoError(t, err)
	require.Equal(t, []string{"app/a.go", "app/new.go"}, onDisk)
	viaReader, err := repo.Uncommitted(newReaderFS(context.Background(), &dirReader{root: h.Dir}, "/"), m)
	require.NoError(t, err)
	require.Equal(t, onDisk, viaReader)
}

func TestOpenFSNotRepository(t *testing.T) {
	t.Parallel()
	fs := newReaderFS(context.Background(), &dirReader{root: t.TempDir()}, ".git")
	_, err := gitsource.OpenFS(fs)
	require.ErrorIs(t, err, gitsource.ErrNotRepository)
}

// depsMapping maps the whole repository with a stage dependency for
// install and one for setup.
func depsMapping() *dappfile.GitMapping {
	return &dappfile.GitMapping{Add: "/", To: "/app", StageDependencies: map[dappfile.StageName][]string{
		dappfile.Install: {"package.json"},
		dappfile.Setup:   {"src"},
	}}
}

// planSummary plans m at HEAD of repo and describes each step with what
// its actions do, file contents included.
func planSummary(t testing.TB, repo *gitsource.Repo, m *dappfile.GitMapping) []string {
	t.Helper()
	head, err := repo.Head()
	require.NoError(t, err)
	p, _, err := gitsource.Plan(repo, head, m, gitsource.PlanOpt{})
	require.NoError(t, err)
	var out []string
	for _, step := range p.Steps {
		acts, err := p.StepActions(step)
		require.NoError(t, err)
		var desc []string
		for _, a := range acts {
			d := fmt.Sprintf("%d %s %o", a.Kind, a.Rel, a.Mode)
			if a.Kind == gitsource.ActMkfile || a.Kind == gitsource.ActSymlink {
				dt, err := a.Data()
				require.NoError(t, err)
				d += " " + string(dt)
			}
			desc = append(desc, d)
		}
		out = append(out, step.String(), strings.Join(desc, "; "))
	}
	return out
}

// TestReaderSpans: a span read ahead serves go-git's buffered reads up to
// its end (a short read), never the chunk past it; a ReadAt that needs
// more reads the chunk; a span being read is waited for.
func TestReaderSpans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), content, 0o644))
	dr := &dirReader{root: dir}
	fs := newReaderFS(context.Background(), dr, "/").(*readerFS)
	fs.chunkSize = 16
	require.NoError(t, fs.fetchSpan(dr, "f", 4, 10))
	require.NoError(t, fs.fetchSpan(dr, "f", 6, 12), "only 10-12 is read")
	require.Equal(t, int64(2), dr.reads.Load())
	require.Equal(t, "456789ab", string(fs.cachedPrefixAt(t, "f", 4)))

	f, err := fs.Open("f")
	require.NoError(t, err)
	_, err = f.Seek(5, io.SeekStart)
	require.NoError(t, err)
	buf := make([]byte, 20)
	n, err := f.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "56789ab", string(buf[:n]), "a short read ends with the span")
	require.Equal(t, int64(2), dr.reads.Load())

	n, err = f.ReadAt(buf[:8], 8)
	require.NoError(t, err)
	require.Equal(t, "89abcdef", string(buf[:n]))
	require.Equal(t, int64(3), dr.reads.Load(), "ReadAt read the chunk the span does not cover")
	require.NoError(t, fs.fetchSpan(dr, "f", 2, 14))
	require.Equal(t, int64(3), dr.reads.Load(), "the chunk holds it")
	require.NoError(t, fs.fetchSpan(dr, "f", 14, 30))
	require.Equal(t, int64(4), dr.reads.Load())
	require.Equal(t, "ghijklmnopqrst", string(fs.spans["f"][len(fs.spans["f"])-1].data), "only what the chunk did not hold")
}

// cachedPrefixAt is what the cache holds of abs from off on, in one piece.
func (fs *readerFS) cachedPrefixAt(t *testing.T, abs string, off int64) []byte {
	t.Helper()
	var out []byte
	for {
		dt, ok := fs.cachedAt(abs, off+int64(len(out)))
		if !ok {
			return out
		}
		out = append(out, dt...)
	}
}

// TestReaderListedAbsent: a file a cached listing does not name does not
// exist, without asking; a listing being made is waited for.
func TestReaderListedAbsent(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("a.txt", "a")
	h.Commit("one")
	cr := &slowReader{countingReader{dirReader: dirReader{root: h.Dir}}}
	fs := newReaderFS(context.Background(), cr, ".git").(*readerFS)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := fs.ReadDir("/")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), cr.dirs.Load(), "one listing for four readers")
	_, err := fs.Stat("shallow")
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = fs.Stat("HEAD")
	require.NoError(t, err)
	require.Zero(t, cr.stats.Load())
}
