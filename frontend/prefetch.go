package frontend

import (
	"bytes"
	"context"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// Bounds of the read-ahead of .git. Everything in .git is hostile input:
// the read-ahead stops at these and leaves the rest to go-git, which
// reads what it needs one request at a time.
const (
	// prefetchParallel is how many requests the read-ahead of the
	// history has in flight; prefetchBackground how many more read, beside
	// it, what only go-git needs (loose-object listings, the index).
	prefetchParallel   = 8
	prefetchBackground = 4
	// prefetchMaxBytes bounds what the read-ahead reads in all.
	prefetchMaxBytes = 32 << 20
	// prefetchMaxObjects bounds the objects it locates and reads.
	prefetchMaxObjects = 1 << 14
	// prefetchMaxObjectSize: commits and trees bigger than this are left
	// to go-git.
	prefetchMaxObjectSize = 4 << 20
	// prefetchPackWindow is what is read of a packed blob to learn its
	// size: a packed object's header takes a few bytes (a delta, whose
	// size is in the delta, is read whole, and is often shorter than the
	// window). Of a loose blob the read-ahead reads what gitsource reads
	// to learn its size (gitsource.LooseHeaderPrefix).
	prefetchPackWindow = 512
	// prefetchGap: ranges of one pack closer than this are read in one
	// request (up to readChunk bytes), since a request costs more than
	// the bytes between (through the gateway about 3 ms a request, 20 ms
	// a MiB, on a loaded machine).
	prefetchGap = 16 << 10
	// prefetchPackAhead is the least read of a pack for a commit or a
	// tree: git writes a pack's commits, then its trees, together, so
	// what follows one is likely what the next level reads.
	prefetchPackAhead = 64 << 10
	// prefetchMaxDelta bounds the delta chains followed.
	prefetchMaxDelta = 64
	// prefetchMaxPackObjects: packs with more objects are left to go-git
	// (their offsets are sorted to find where each object ends).
	prefetchMaxPackObjects = 1 << 22
	// prefetchMaxTreeDepth bounds the tree comparisons' recursion.
	prefetchMaxTreeDepth = 256
)

// prefetch fills the reader's caches with what opening the repository
// and planning read, with several requests in flight through r, instead
// of go-git's one at a time: the refs, HEAD's first-parent chain as far
// as the plan walks it, the trees of its commits, the sizes of the blobs
// that change along it, the pack indexes, and, beside those, the
// loose-object listings, the index and the config. It reads level by
// level (what a level reads names what the next one needs) and of a pack
// only the ranges that hold those objects. It changes nothing but the
// caches, so go-git reads the same bytes either way, and errors are left
// for go-git to meet and report.
func (fs *readerFS) prefetch(r fileReader) {
	w := &warmer{fs: fs, r: r, bg: newGroup(prefetchBackground),
		trees: map[plumbing.Hash]*object.Tree{}, wanted: map[plumbing.Hash]bool{}}
	defer w.bg.wait()
	// until it ends, a read go-git makes that the cache misses waits for
	// the end of the level in flight first
	fs.endLevel(false)
	defer fs.endLevel(true)
	head, ok := w.refsAndPacks()
	if !ok {
		return
	}
	w.history(head)
}

// group runs funcs with at most n at a time.
type group struct {
	sem chan struct{}
	wg  sync.WaitGroup
}

func newGroup(n int) *group { return &group{sem: make(chan struct{}, n)} }

func (g *group) run(f func()) {
	g.wg.Add(1)
	go func() {
		g.sem <- struct{}{}
		defer func() { <-g.sem; g.wg.Done() }()
		f()
	}()
}

func (g *group) wait() { g.wg.Wait() }

// warmer is one read-ahead. Its levels run from one goroutine: only the
// requests run in parallel, the decoding does not.
type warmer struct {
	fs *readerFS
	r  fileReader
	bg *group
	// bytes is what the requests asked for so far.
	bytes atomic.Int64

	packs []*warmPack
	// chain is HEAD's first-parent chain as the plan walks it, HEAD first.
	chain []*object.Commit
	// trees holds the trees read, for the comparisons along the chain.
	trees map[plumbing.Hash]*object.Tree
	// wanted holds every object asked for, against prefetchMaxObjects.
	wanted map[plumbing.Hash]bool

	// absent holds the loose objects a read did not find.
	mu     sync.Mutex
	absent map[plumbing.Hash]bool
}

// take reserves n bytes of the budget.
func (w *warmer) take(n int64) bool {
	if w.bytes.Add(n) > prefetchMaxBytes {
		w.bytes.Add(-n)
		return false
	}
	return true
}

// gitAbs is the reader's path of a file of .git.
func (w *warmer) gitAbs(rel string) string { return w.fs.abs(rel) }

// refsAndPacks reads, in two levels, .git's listings, HEAD and the ref it
// names, packed-refs and the pack indexes, starts the background reads,
// and returns HEAD's commit as go-git resolves it from the cache.
func (w *warmer) refsAndPacks() (plumbing.Hash, bool) {
	g := newGroup(prefetchParallel)
	var root, objects, packDir []*fstypes.Stat
	g.run(func() { root, _ = w.fs.listDir(w.r, w.gitAbs("")) })
	g.run(func() { objects, _ = w.fs.listDir(w.r, w.gitAbs("objects")) })
	g.run(func() { packDir, _ = w.fs.listDir(w.r, w.gitAbs("objects/pack")) })
	g.run(func() { _, _ = w.fs.fetchChunk(w.r, w.gitAbs("HEAD"), 0, -1) })
	g.run(func() { _, _ = w.fs.statVia(w.r, w.gitAbs("objects/info/alternates")) })
	g.wait()
	w.fs.endLevel(false)
	if root == nil {
		return plumbing.ZeroHash, false
	}
	w.background(root, objects)
	if ref, ok := w.headRef(); ok {
		g.run(func() { _, _ = w.fs.statVia(w.r, w.gitAbs(ref)) })
		g.run(func() { _, _ = w.fs.fetchChunk(w.r, w.gitAbs(ref), 0, -1) })
	}
	if st := listed(root, "packed-refs"); st != nil {
		w.readWhole(g, w.gitAbs("packed-refs"), st)
	}
	idx := w.packIndexes(g, packDir)
	g.wait()
	w.fs.endLevel(false)
	w.decodePacks(idx)
	return w.resolveHead()
}

// background reads what go-git reads and the history does not need:
// every loose-object listing (go-git lists them all before it opens a
// loose object), the index (the uncommitted-change check) and the config.
func (w *warmer) background(root, objects []*fstypes.Stat) {
	for _, st := range objects {
		if name := path.Base(st.Path); isFanout(name) && st.IsDir() {
			dir := w.gitAbs("objects/" + name)
			w.bg.run(func() { _, _ = w.fs.listDir(w.r, dir) })
		}
	}
	for _, name := range []string{"config", "index"} {
		if st := listed(root, name); st != nil {
			w.readWhole(w.bg, w.gitAbs(name), st)
		}
	}
}

func isFanout(name string) bool {
	return len(name) == 2 && strings.Trim(name, "0123456789abcdef") == ""
}

// listed is the entry name of a listing, if it is a regular file.
func listed(ents []*fstypes.Stat, name string) *fstypes.Stat {
	for _, st := range ents {
		if path.Base(st.Path) == name && os.FileMode(st.Mode).IsRegular() {
			return st
		}
	}
	return nil
}

// readWhole reads every chunk of a listed file, within the budget.
func (w *warmer) readWhole(g *group, abs string, st *fstypes.Stat) {
	if st.Size <= 0 || !w.take(st.Size) {
		return
	}
	for idx := int64(0); idx*w.fs.chunkSize < st.Size; idx++ {
		g.run(func() { _, _ = w.fs.fetchChunk(w.r, abs, idx, st.Size) })
	}
}

// headRef is the ref HEAD names ("ref: refs/heads/main"), when it is a
// plain path below refs/: anything else is left to go-git.
func (w *warmer) headRef() (string, bool) {
	dt, ok := w.fs.cachedAt(w.gitAbs("HEAD"), 0)
	if !ok || len(dt) > 1024 {
		return "", false
	}
	ref, ok := strings.CutPrefix(strings.TrimSpace(string(dt)), "ref: ")
	if !ok || !strings.HasPrefix(ref, "refs/") || path.Clean(ref) != ref || strings.Contains(ref, "..") {
		return "", false
	}
	return ref, true
}

// resolveHead resolves HEAD with go-git, from the cache.
func (w *warmer) resolveHead() (plumbing.Hash, bool) {
	st := filesystem.NewStorageWithOptions(aheadFS{w.fs}, cache.NewObjectLRU(0), filesystem.Options{ExclusiveAccess: true})
	ref, err := storer.ResolveReference(st, plumbing.HEAD)
	if err != nil || ref.Type() != plumbing.HashReference {
		return plumbing.ZeroHash, false
	}
	return ref.Hash(), true
}

// aheadFS is the reader as the read-ahead reads through go-git: its
// files never wait for the read-ahead's levels (it would wait for
// itself).
type aheadFS struct{ *readerFS }

func (a aheadFS) Open(name string) (billy.File, error) { return a.OpenFile(name, os.O_RDONLY, 0) }

func (a aheadFS) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	f, err := a.readerFS.OpenFile(name, flag, perm)
	if rf, ok := f.(*readerFile); ok {
		rf.ahead = true
	}
	return f, err
}

// mentionsGit reports whether a Dappfile may map git sources: only then
// is it worth reading .git ahead, beside the Dappfile's templates.
func mentionsGit(dappfile []byte) bool { return bytes.Contains(dappfile, []byte("git")) }

// prefetch solves .git and warms its reader (see readerFS.prefetch),
// counted as the io row git-prefetch of the trace: it runs beside the
// Dappfile's reading, so its time overlaps the phases.
// It stops asking for more once stop is done (its requests fail, and a
// read that waited on one of them reads for itself).
// With a frontend binary to run inside the build, the read-ahead runs
// there (readAheadInBuild), and through the gateway only when that fails.
// The caller calls willPrefetch first.
func (g *contextGit) prefetch(ctx, stop context.Context) {
	_, err := g.dotGitFS(ctx)
	rfs, ok := g.fs.(*readerFS)
	if err != nil || !ok {
		return
	}
	if g.helper != nil {
		err := g.readAheadInBuild(ctx, rfs)
		rfs.endLoad()
		if err == nil {
			return
		}
		// the same reads through the gateway: slower, never different
		tracerFrom(ctx).add(ioGitReadAheadFallback, true, 0, 0, 1)
	}
	rfs.prefetch(stoppable{traceIO(tracerFrom(ctx), ioGitPrefetch, g.ref), stop})
}

// stoppable is a fileReader whose requests fail once stop is done.
type stoppable struct {
	fileReader
	stop context.Context
}

func (s stoppable) ReadFile(ctx context.Context, req gwclient.ReadRequest) ([]byte, error) {
	if err := s.stop.Err(); err != nil {
		return nil, err
	}
	return s.fileReader.ReadFile(ctx, req)
}

func (s stoppable) ReadDir(ctx context.Context, req gwclient.ReadDirRequest) ([]*fstypes.Stat, error) {
	if err := s.stop.Err(); err != nil {
		return nil, err
	}
	return s.fileReader.ReadDir(ctx, req)
}

func (s stoppable) StatFile(ctx context.Context, req gwclient.StatRequest) (*fstypes.Stat, error) {
	if err := s.stop.Err(); err != nil {
		return nil, err
	}
	return s.fileReader.StatFile(ctx, req)
}
