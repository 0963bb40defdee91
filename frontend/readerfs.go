package frontend

import (
	"context"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
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
	// pendingDirs holds the listings being made.
	pendingDirs map[string]chan struct{}
	// spans holds pieces of files read ahead (see fetchSpan): an object
	// of a pack or the start of a loose one, where a whole chunk would
	// carry mostly what nothing reads. Sorted by offset, disjoint.
	spans map[string][]span
	// spanBytes is what spans hold; past maxSpanBytes none is kept.
	spanBytes int64
	// pendingSpans are the spans being read.
	pendingSpans map[string][]pendingSpan
	// level is closed when the read-ahead's level in flight ends; nil
	// when none runs.
	level chan struct{}
	// sizes are the sizes of loose blobs the read-ahead done inside the
	// build found in their headers (gitsource.KnownSizes).
	sizes map[plumbing.Hash]int64
	// loading is closed when the read-ahead done inside the build is
	// loaded (or failed); nil when none is pending. Until then every
	// read the caches miss waits for it (see waitLoad).
	loading chan struct{}
}

// beginLoad makes the reads the caches miss wait until endLoad: the
// read-ahead done inside the build is on its way and likely holds them.
func (fs *readerFS) beginLoad() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.loading = make(chan struct{})
}

// endLoad lets the waiting reads go on; a read still missing then goes
// through the reader.
func (fs *readerFS) endLoad() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.loading != nil {
		close(fs.loading)
		fs.loading = nil
	}
}

// waitLoad waits for a pending load (beginLoad) to end.
func (fs *readerFS) waitLoad() {
	fs.mu.Lock()
	ch := fs.loading
	fs.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// LooseBlobSize is gitsource.KnownSizes: the size of loose blob h when
// the read-ahead done inside the build read it, after waiting for it.
func (fs *readerFS) LooseBlobSize(h plumbing.Hash) (int64, bool) {
	fs.waitLoad()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, ok := fs.sizes[h]
	return n, ok
}

// span is the bytes of a file from off on.
type span struct {
	off  int64
	data []byte
}

func (s span) end() int64 { return s.off + int64(len(s.data)) }

type pendingSpan struct {
	off, end int64
	done     chan struct{}
}

// maxSpanBytes bounds what spans hold: the read-ahead (within its own
// budget) and WarmFiles make them.
const maxSpanBytes = 64 << 20

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
	st, ok := fs.knownStat(abs)
	if !ok {
		fs.waitLoad()
		st, ok = fs.knownStat(abs)
	}
	if !ok {
		var err error
		if st, err = fs.statVia(fs.r, abs); err != nil {
			return nil, &os.PathError{Op: "stat", Path: name, Err: notExist(err)}
		}
	}
	if st == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	return &fileInfo{name: path.Base(path.Clean("/" + name)), st: st}, nil
}

// knownStat is what the caches say of abs: its stat, or nil when a
// cached listing of its directory does not name it.
func (fs *readerFS) knownStat(abs string) (*fstypes.Stat, bool) {
	if st, ok := fs.cachedStat(abs); ok {
		return st, true
	}
	if fs.listedAbsent(abs) {
		return nil, true
	}
	return nil, false
}

// statVia stats abs through r, keeping the answer as stat does.
func (fs *readerFS) statVia(r fileReader, abs string) (*fstypes.Stat, error) {
	if st, ok := fs.cachedStat(abs); ok {
		return st, nil
	}
	st, err := r.StatFile(fs.ctx, gwclient.StatRequest{Path: abs})
	if err != nil {
		if notExist(err) == os.ErrNotExist {
			fs.keepStat(abs, nil)
		}
		return nil, err
	}
	fs.keepStat(abs, st)
	return st, nil
}

// listedAbsent reports that the cached listing of abs's directory has no
// such entry: the state is a snapshot, so abs does not exist. go-git
// probes optional files (shallow, packed-refs, alternates), each a round
// trip otherwise.
func (fs *readerFS) listedAbsent(abs string) bool {
	dir, base := path.Split(abs)
	dir = strings.TrimSuffix(dir, "/")
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sts, ok := fs.dirs[dir]
	if !ok {
		return false
	}
	for _, st := range sts {
		if path.Base(st.Path) == base {
			return false
		}
	}
	return true
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
	fs.waitLoad()
	sts, err := fs.listDir(fs.r, abs)
	if err != nil {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: notExist(err)}
	}
	out := make([]os.FileInfo, 0, len(sts))
	for _, st := range sts {
		out = append(out, &fileInfo{name: path.Base(st.Path), st: st})
	}
	return out, nil
}

// listDir lists abs through r and keeps the listing and its entries'
// stats.
// A listing already kept answers at once, and one being made (by the
// read-ahead, or another goroutine) is waited for, not asked again.
func (fs *readerFS) listDir(r fileReader, abs string) ([]*fstypes.Stat, error) {
	if sts, ok := claim(&fs.mu, &fs.dirs, &fs.pendingDirs, abs); ok {
		return sts, nil
	}
	sts, err := r.ReadDir(fs.ctx, gwclient.ReadDirRequest{Path: abs})
	if err == nil {
		for _, st := range sts {
			fs.keepStat(path.Join(abs, path.Base(st.Path)), st)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	releaseLocked(fs.pendingDirs, abs)
	if err != nil {
		return nil, err
	}
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

// readAt serves p from cached chunks and spans of the file, reading the
// chunks neither holds. A short read (Read, not ReadAt) stops at the end
// of a span rather than read the chunk past it: go-git reads objects
// through buffers larger than what the read-ahead fetched of them.
func (fs *readerFS) readAt(abs string, p []byte, off, size int64, short, ahead bool) (int, error) {
	n := 0
	for n < len(p) && off < size {
		idx := off / fs.chunkSize
		data, ok := fs.cachedAt(abs, off)
		if !ok && !ahead {
			fs.waitLoad()
			data, ok = fs.cachedAt(abs, off)
		}
		if level := fs.aheadLevel(); !ok && n == 0 && level != nil && !ahead {
			// go-git got ahead of the read-ahead, whose level in flight
			// likely brings what it needs (a few bytes of a pack, where
			// its own read would take a whole chunk)
			<-level
			data, ok = fs.cachedAt(abs, off)
		}
		if !ok {
			if short && n > 0 {
				return n, nil
			}
			chunk, err := fs.chunk(abs, idx, size)
			if err != nil {
				return n, err
			}
			if off-idx*fs.chunkSize >= int64(len(chunk)) {
				return n, io.ErrUnexpectedEOF
			}
			data = chunk[off-idx*fs.chunkSize:]
		}
		c := copy(p[n:], data)
		if c == 0 {
			break
		}
		n += c
		off += int64(c)
	}
	if n < len(p) && off >= size {
		return n, io.EOF
	}
	return n, nil
}

// aheadLevel is what a read the cache misses waits for first: the end of
// the read-ahead's level in flight, or of the next one, while it runs.
func (fs *readerFS) aheadLevel() chan struct{} {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.level
}

// endLevel ends a level of the read-ahead: the reads waiting for it look
// again, and, unless last, the next level starts.
func (fs *readerFS) endLevel(last bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.level != nil {
		close(fs.level)
	}
	fs.level = nil
	if !last {
		fs.level = make(chan struct{})
	}
}

// cachedAt returns the cached bytes of abs from off on (to the end of a
// chunk or span), waiting for a span being read that holds off.
func (fs *readerFS) cachedAt(abs string, off int64) ([]byte, bool) {
	for {
		fs.mu.Lock()
		idx := off / fs.chunkSize
		if chunk, ok := fs.chunks[chunkKey{abs, idx}]; ok && off-idx*fs.chunkSize < int64(len(chunk)) {
			fs.mu.Unlock()
			return chunk[off-idx*fs.chunkSize:], true
		}
		spans := fs.spans[abs]
		i := sort.Search(len(spans), func(i int) bool { return spans[i].end() > off })
		if i < len(spans) && spans[i].off <= off {
			// taken under the lock: keepSpanLocked shifts the spans in
			// place when it inserts one
			dt := spans[i].data[off-spans[i].off:]
			fs.mu.Unlock()
			return dt, true
		}
		var wait chan struct{}
		for _, ps := range fs.pendingSpans[abs] {
			if ps.off <= off && off < ps.end {
				wait = ps.done
				break
			}
		}
		fs.mu.Unlock()
		if wait == nil {
			return nil, false
		}
		<-wait
	}
}

// hasChunk reports whether chunk idx of abs is cached.
func (fs *readerFS) hasChunk(abs string, idx int64) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	_, ok := fs.chunks[chunkKey{abs, idx}]
	return ok
}

// covered reports whether the cache holds all of [off, end) of abs.
func (fs *readerFS) covered(abs string, off, end int64) bool {
	for off < end {
		data, ok := fs.cachedAt(abs, off)
		if !ok {
			return false
		}
		off += int64(len(data))
	}
	return true
}

// coveredFrom is where the cached bytes that end at end start, no lower
// than off.
func (fs *readerFS) coveredFrom(abs string, off, end int64) int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	start := end
	for start > off {
		idx := (start - 1) / fs.chunkSize
		if chunk, ok := fs.chunks[chunkKey{abs, idx}]; ok && start-idx*fs.chunkSize <= int64(len(chunk)) {
			start = idx * fs.chunkSize
			continue
		}
		spans := fs.spans[abs]
		i := sort.Search(len(spans), func(i int) bool { return spans[i].end() >= start })
		if i < len(spans) && spans[i].off < start {
			start = spans[i].off
			continue
		}
		break
	}
	return max(start, off)
}

// fetchSpan reads [off, end) of abs through r in one request and keeps
// it as a span, unless the cache holds all of it already.
func (fs *readerFS) fetchSpan(r fileReader, abs string, off, end int64) error {
	// leave out what the cache holds at either end
	for off < end {
		dt, ok := fs.cachedAt(abs, off)
		if !ok {
			break
		}
		off += int64(len(dt))
	}
	for off < end && fs.covered(abs, end-1, end) {
		end = fs.coveredFrom(abs, off, end)
	}
	if off >= end {
		return nil
	}
	ps := pendingSpan{off: off, end: end, done: make(chan struct{})}
	fs.mu.Lock()
	if fs.pendingSpans == nil {
		fs.pendingSpans = map[string][]pendingSpan{}
	}
	fs.pendingSpans[abs] = append(fs.pendingSpans[abs], ps)
	fs.mu.Unlock()
	dt, err := r.ReadFile(fs.ctx, gwclient.ReadRequest{
		Filename: abs,
		Range:    &gwclient.FileRange{Offset: int(off), Length: int(end - off)},
	})
	fs.mu.Lock()
	defer fs.mu.Unlock()
	close(ps.done)
	pend := fs.pendingSpans[abs]
	for i := range pend {
		if pend[i].done == ps.done {
			fs.pendingSpans[abs] = append(pend[:i:i], pend[i+1:]...)
			break
		}
	}
	if err != nil {
		return errors.Wrapf(err, "failed to read %s", abs)
	}
	fs.keepSpanLocked(abs, off, dt)
	return nil
}

// keepSpanLocked adds the bytes of abs at off to the spans, leaving out
// what they hold already (the file never changes, so the bytes are the
// same); fs.mu is held.
func (fs *readerFS) keepSpanLocked(abs string, off int64, dt []byte) {
	if fs.spans == nil {
		fs.spans = map[string][]span{}
	}
	spans := fs.spans[abs]
	end := off + int64(len(dt))
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end() > off })
	var add []span
	for off < end {
		if i < len(spans) && spans[i].off <= off {
			off = spans[i].end()
			i++
			continue
		}
		stop := end
		if i < len(spans) {
			stop = min(stop, spans[i].off)
		}
		add = append(add, span{off: off, data: dt[len(dt)-int(end-off) : len(dt)-int(end-stop)]})
		off = stop
	}
	for _, s := range add {
		if fs.spanBytes+int64(len(s.data)) > maxSpanBytes {
			break
		}
		fs.spanBytes += int64(len(s.data))
		at := sort.Search(len(spans), func(i int) bool { return spans[i].off > s.off })
		spans = slices.Insert(spans, at, s)
	}
	fs.spans[abs] = spans
}

func (fs *readerFS) chunk(abs string, idx, size int64) ([]byte, error) {
	return fs.fetchChunk(fs.r, abs, idx, size)
}

// fetchChunk returns chunk idx of the file abs (size bytes) from the cache
// or reads it through r and keeps it. A chunk already being read (by
// prefetch, or another goroutine) is waited for, not read again.
func (fs *readerFS) fetchChunk(r fileReader, abs string, idx, size int64) ([]byte, error) {
	key := chunkKey{abs, idx}
	if dt, ok := claim(&fs.mu, &fs.chunks, &fs.pending, key); ok {
		return dt, nil
	}
	dt, err := fs.readChunk(r, key, size)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	releaseLocked(fs.pending, key)
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

// readChunk reads chunk key.idx of a file of size bytes; size < 0 says
// the size is not known yet: the gateway answers a range past the end
// with the bytes up to it, the same as a read that knew the size.
// claim returns what cache holds for key or, when no other goroutine is
// reading it, claims the read for the caller, who then calls
// releaseLocked; a read in progress is waited for and the cache looked
// up again (the read may have failed, or its chunk been evicted at once:
// then the caller reads). mu guards cache and pending.
func claim[K comparable, V any](mu *sync.Mutex, cache *map[K]V, pending *map[K]chan struct{}, key K) (V, bool) {
	for {
		mu.Lock()
		if v, ok := (*cache)[key]; ok {
			mu.Unlock()
			return v, true
		}
		wait, busy := (*pending)[key]
		if !busy {
			if *pending == nil {
				*pending = map[K]chan struct{}{}
			}
			(*pending)[key] = make(chan struct{})
			mu.Unlock()
			var none V
			return none, false
		}
		mu.Unlock()
		<-wait
	}
}

// releaseLocked ends a read claim gave; the mutex is held.
func releaseLocked[K comparable](pending map[K]chan struct{}, key K) {
	close(pending[key])
	delete(pending, key)
}

func (fs *readerFS) readChunk(r fileReader, key chunkKey, size int64) ([]byte, error) {
	length := fs.chunkSize
	if size >= 0 {
		length = min(length, size-key.idx*fs.chunkSize)
	}
	dt, err := r.ReadFile(fs.ctx, gwclient.ReadRequest{
		Filename: key.name,
		Range:    &gwclient.FileRange{Offset: int(key.idx * fs.chunkSize), Length: int(length)},
	})
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read %s", key.name)
	}
	return dt, nil
}

// WarmFiles reads the first limit bytes of the named files, several at
// a time, into the cache (gitsource.FileWarmer): the objects whose size
// a step needs and the blobs it writes inline, which the conversion
// would read one round trip after another. What the read-ahead brought
// is not read again; more than a chunk of a file is left to go-git's own
// reads.
func (fs *readerFS) WarmFiles(names []string, limit int64) {
	fs.waitLoad()
	g := newGroup(prefetchParallel)
	for _, name := range names {
		fi, err := fs.stat(name)
		if err != nil || fi.IsDir() {
			continue
		}
		end := min(fi.Size(), limit)
		abs := fs.abs(name)
		if end > fs.chunkSize || fs.covered(abs, 0, end) {
			continue
		}
		g.run(func() { _ = fs.fetchSpan(fs.r, abs, 0, end) })
	}
	g.wait()
}

var _ gitsource.FileWarmer = (*readerFS)(nil)

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
	// ahead marks the read-ahead's own file, whose reads never wait for
	// its levels
	ahead bool
}

func (f *readerFile) Name() string { return f.name }

func (f *readerFile) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	n, err := f.fs.readAt(f.abs, p, f.off, f.size, true, f.ahead)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *readerFile) ReadAt(p []byte, off int64) (int, error) {
	return f.fs.readAt(f.abs, p, off, f.size, false, f.ahead)
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
