package frontend

import (
	"context"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// fileReader reads files of a solved state. gwclient.Reference satisfies it,
// so the frontend can hand the reference of llb.Local("context") with
// IncludePatterns [".git"] straight to newReaderFS.
type fileReader interface {
	ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error)
	ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error)
	StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error)
}

var _ fileReader = (gwclient.Reference)(nil)

// readChunk is how much a file read asks for at once. go-git reads pack
// files with many small seeks; every request is a gRPC round trip, so reads
// are served from cached chunks.
const readChunk = 1 << 20

// maxCachedBytes bounds the memory the chunk cache holds; the oldest
// chunk goes first. It counts bytes, not chunks: a loose object is a
// chunk of its own, and a repository's hundreds of them must not push its
// packs out.
const maxCachedBytes = 64 << 20

// newReaderFS returns a read-only billy filesystem rooted at root inside r.
// Writes fail with billy.ErrReadOnly. go-git only reads when it opens a
// repository and walks history, so this is enough for OpenFS.
func newReaderFS(ctx context.Context, r fileReader, root string) billy.Filesystem {
	return &readerFS{ctx: ctx, r: r, root: path.Clean("/" + root), chunkSize: readChunk, chunks: map[chunkKey][]byte{}}
}

type chunkKey struct {
	name string
	idx  int64
}

type readerFS struct {
	ctx  context.Context
	r    fileReader
	root string
	// chunkSize is readChunk; tests make it small.
	chunkSize int64

	mu     sync.Mutex
	chunks map[chunkKey][]byte
	order  []chunkKey // insertion order, for eviction
	cached int64      // bytes in chunks
	// stats caches StatFile answers (nil: the file does not exist) and
	// the entries ReadDir listed: the state is a solved snapshot that
	// never changes, and go-git stats a file before it opens it and
	// probes every loose object it lists, each a gateway round trip.
	stats map[string]*fstypes.Stat
	// dirs caches directory listings (go-git lists the loose objects).
	dirs map[string][]*fstypes.Stat
	// pending holds the chunks being read; closed when the read ends.
	pending map[chunkKey]chan struct{}
}

// maxCachedStats bounds the stat cache; past it, answers are not kept.
const maxCachedStats = 1 << 18

func (fs *readerFS) cachedStat(abs string) (*fstypes.Stat, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	st, ok := fs.stats[abs]
	return st, ok
}

func (fs *readerFS) keepStat(abs string, st *fstypes.Stat) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stats == nil {
		fs.stats = map[string]*fstypes.Stat{}
	}
	if len(fs.stats) < maxCachedStats {
		fs.stats[abs] = st
	}
}

func (fs *readerFS) abs(name string) string {
	p := path.Join(fs.root, path.Clean("/"+filepathToSlash(name)))
	return strings.TrimPrefix(p, "/")
}

func filepathToSlash(p string) string { return strings.ReplaceAll(p, `\`, "/") }

func (fs *readerFS) stat(name string) (*fileInfo, error) {
	abs := fs.abs(name)
	st, ok := fs.cachedStat(abs)
	if !ok {
		var err error
		st, err = fs.r.StatFile(fs.ctx, gwclient.StatRequest{Path: abs})
		if err != nil {
			err = notExist(err)
			if err == os.ErrNotExist {
				fs.keepStat(abs, nil)
			}
			return nil, &os.PathError{Op: "stat", Path: name, Err: err}
		}
		fs.keepStat(abs, st)
	}
	if st == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	return &fileInfo{name: path.Base(path.Clean("/" + name)), st: st}, nil
}

// notExist turns a "no such file" answer of the reader into os.ErrNotExist
// itself: go-git probes optional files (packed-refs, shallow, loose objects
// before packs) with os.IsNotExist, which does not unwrap, and the gateway
// reports a missing file as a gRPC error carrying the lstat message.
// Other errors pass unchanged.
func notExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return os.ErrNotExist
	}
	msg := err.Error()
	if strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "not exist") ||
		strings.Contains(msg, "not found") {
		return os.ErrNotExist
	}
	return err
}

func (fs *readerFS) Stat(name string) (os.FileInfo, error)  { return fs.stat(name) }
func (fs *readerFS) Lstat(name string) (os.FileInfo, error) { return fs.stat(name) }

func (fs *readerFS) Readlink(name string) (string, error) {
	fi, err := fs.stat(name)
	if err != nil {
		return "", err
	}
	if fi.st.Linkname == "" {
		return "", &os.PathError{Op: "readlink", Path: name, Err: os.ErrInvalid}
	}
	return fi.st.Linkname, nil
}

func (fs *readerFS) ReadDir(name string) ([]os.FileInfo, error) {
	abs := fs.abs(name)
	fs.mu.Lock()
	sts, ok := fs.dirs[abs]
	fs.mu.Unlock()
	if !ok {
		var err error
		if sts, err = fs.listDir(fs.r, abs); err != nil {
			return nil, &os.PathError{Op: "readdir", Path: name, Err: notExist(err)}
		}
	}
	out := make([]os.FileInfo, 0, len(sts))
	for _, st := range sts {
		out = append(out, &fileInfo{name: path.Base(st.Path), st: st})
	}
	return out, nil
}

// cachedDir is the listing of abs if the cache holds it.
func (fs *readerFS) cachedDir(abs string) []*fstypes.Stat {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.dirs[abs]
}

// listDir lists abs through r and keeps the listing and its entries'
// stats.
func (fs *readerFS) listDir(r fileReader, abs string) ([]*fstypes.Stat, error) {
	sts, err := r.ReadDir(fs.ctx, gwclient.ReadDirRequest{Path: abs})
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		fs.keepStat(path.Join(abs, path.Base(st.Path)), st)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.dirs == nil {
		fs.dirs = map[string][]*fstypes.Stat{}
	}
	if len(fs.dirs) < maxCachedStats {
		fs.dirs[abs] = sts
	}
	return sts, nil
}

func (fs *readerFS) Open(name string) (billy.File, error) {
	return fs.OpenFile(name, os.O_RDONLY, 0)
}

func (fs *readerFS) OpenFile(name string, flag int, _ os.FileMode) (billy.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, billy.ErrReadOnly
	}
	fi, err := fs.stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &os.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	return &readerFile{fs: fs, name: name, abs: fs.abs(name), size: fi.st.Size}, nil
}

// readAt serves p from cached chunks of the file.
func (fs *readerFS) readAt(abs string, p []byte, off, size int64) (int, error) {
	n := 0
	for n < len(p) && off < size {
		idx := off / fs.chunkSize
		chunk, err := fs.chunk(abs, idx, size)
		if err != nil {
			return n, err
		}
		if off-idx*fs.chunkSize >= int64(len(chunk)) {
			return n, io.ErrUnexpectedEOF
		}
		c := copy(p[n:], chunk[off-idx*fs.chunkSize:])
		if c == 0 {
			break
		}
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (fs *readerFS) chunk(abs string, idx, size int64) ([]byte, error) {
	return fs.fetchChunk(fs.r, abs, idx, size)
}

// fetchChunk returns chunk idx of the file abs (size bytes) from the cache
// or reads it through r and keeps it. A chunk already being read (by
// prefetch, or another goroutine) is waited for, not read again.
func (fs *readerFS) fetchChunk(r fileReader, abs string, idx, size int64) ([]byte, error) {
	key := chunkKey{abs, idx}
	for {
		fs.mu.Lock()
		if dt, ok := fs.chunks[key]; ok {
			fs.mu.Unlock()
			return dt, nil
		}
		wait, busy := fs.pending[key]
		if !busy {
			if fs.pending == nil {
				fs.pending = map[chunkKey]chan struct{}{}
			}
			fs.pending[key] = make(chan struct{})
			fs.mu.Unlock()
			break
		}
		fs.mu.Unlock()
		// the other read may fail or be evicted at once: then look again
		// and read it here
		<-wait
	}
	dt, err := fs.readChunk(r, key, size)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	close(fs.pending[key])
	delete(fs.pending, key)
	if err != nil {
		return nil, err
	}
	if old, ok := fs.chunks[key]; ok {
		fs.cached -= int64(len(old))
	} else {
		fs.order = append(fs.order, key)
	}
	fs.chunks[key] = dt
	fs.cached += int64(len(dt))
	for fs.cached > maxCachedBytes && len(fs.order) > 1 {
		fs.cached -= int64(len(fs.chunks[fs.order[0]]))
		delete(fs.chunks, fs.order[0])
		fs.order = fs.order[1:]
	}
	return dt, nil
}

func (fs *readerFS) readChunk(r fileReader, key chunkKey, size int64) ([]byte, error) {
	length := min(fs.chunkSize, size-key.idx*fs.chunkSize)
	dt, err := r.ReadFile(fs.ctx, gwclient.ReadRequest{
		Filename: key.name,
		Range:    &gwclient.FileRange{Offset: int(key.idx * fs.chunkSize), Length: int(length)},
	})
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read %s", key.name)
	}
	return dt, nil
}

func (fs *readerFS) Join(elem ...string) string { return path.Join(elem...) }
func (fs *readerFS) Root() string               { return fs.root }

func (fs *readerFS) Chroot(p string) (billy.Filesystem, error) {
	return &readerFS{ctx: fs.ctx, r: fs.r, root: path.Join(fs.root, p), chunkSize: fs.chunkSize, chunks: map[chunkKey][]byte{}}, nil
}

// Capabilities reports a read-only, seekable filesystem.
func (fs *readerFS) Capabilities() billy.Capability {
	return billy.ReadCapability | billy.SeekCapability
}

func (fs *readerFS) Create(string) (billy.File, error)           { return nil, billy.ErrReadOnly }
func (fs *readerFS) Rename(string, string) error                 { return billy.ErrReadOnly }
func (fs *readerFS) Remove(string) error                         { return billy.ErrReadOnly }
func (fs *readerFS) TempFile(string, string) (billy.File, error) { return nil, billy.ErrReadOnly }
func (fs *readerFS) MkdirAll(string, os.FileMode) error          { return billy.ErrReadOnly }
func (fs *readerFS) Symlink(string, string) error                { return billy.ErrReadOnly }

type readerFile struct {
	fs   *readerFS
	name string
	abs  string
	size int64
	off  int64
}

func (f *readerFile) Name() string { return f.name }

func (f *readerFile) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	n, err := f.fs.readAt(f.abs, p, f.off, f.size)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *readerFile) ReadAt(p []byte, off int64) (int, error) {
	return f.fs.readAt(f.abs, p, off, f.size)
}

func (f *readerFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, errors.Errorf("invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, errors.Errorf("negative offset %d", offset)
	}
	f.off = offset
	return offset, nil
}

func (f *readerFile) Write([]byte) (int, error) { return 0, billy.ErrReadOnly }
func (f *readerFile) Truncate(int64) error      { return billy.ErrReadOnly }
func (f *readerFile) Close() error              { return nil }
func (f *readerFile) Lock() error               { return nil }
func (f *readerFile) Unlock() error             { return nil }

type fileInfo struct {
	name string
	st   *fstypes.Stat
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) Mode() os.FileMode  { return os.FileMode(fi.st.Mode) }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(0, fi.st.ModTime) }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() any           { return fi.st }
