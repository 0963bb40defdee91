package frontend

import (
	"bytes"
	"context"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
	"path"
	"strings"
	"sync"
	"sync/atomic"
)

// prefetchMaxBytes bounds what prefetch reads of pack files: a small
// repository's packs are read whole, in parallel; a big one's only their
// indexes, and go-git reads the chunks it needs.
const prefetchMaxBytes = 32 << 20

// prefetchParallel is how many gateway requests prefetch has in flight.
const prefetchParallel = 4

// prefetchMaxLoose bounds the loose objects prefetch reads (each is a
// request of its own): a work repository's few hundred recent objects are
// read ahead, a never-packed repository's many thousands are left to
// go-git to read as it needs them.
const prefetchMaxLoose = 2048

// prefetch fills the reader's caches with what opening the repository and
// planning read — the loose-object directories and (unless there are very
// many) the loose objects, the pack indexes and, for a small repository,
// the packs — with several requests in flight through
// r, instead of go-git's one request at a time. It changes nothing but
// the caches, so go-git reads the same bytes either way, and errors are
// left for go-git to meet and report.
func (fs *readerFS) prefetch(r fileReader) {
	sem := make(chan struct{}, prefetchParallel)
	var wg sync.WaitGroup
	do := func(f func()) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f()
		}()
	}
	objects := fs.abs("objects")
	ents, err := fs.listDir(r, objects)
	if err != nil {
		return
	}
	var packs, dirs []string
	var total int64
	for _, st := range ents {
		name := path.Base(st.Path)
		switch {
		case name == "pack":
			pents, err := fs.listDir(r, path.Join(objects, "pack"))
			if err != nil {
				continue
			}
			for _, p := range pents {
				pn := path.Base(p.Path)
				if strings.HasSuffix(pn, ".idx") || strings.HasSuffix(pn, ".pack") {
					packs = append(packs, pn)
					total += p.Size
				}
			}
		case len(name) == 2 && st.IsDir():
			dirs = append(dirs, path.Join(objects, name))
		}
	}
	var loose atomic.Int64
	for _, dir := range dirs {
		do(func() {
			objs, err := fs.listDir(r, dir)
			if err == nil {
				loose.Add(int64(len(objs)))
			}
		})
	}
	wg.Wait()
	if loose.Load() <= prefetchMaxLoose {
		for _, dir := range dirs {
			for _, st := range fs.cachedDir(dir) {
				abs, size := path.Join(dir, path.Base(st.Path)), st.Size
				if !st.IsDir() && size > 0 && size <= fs.chunkSize {
					do(func() { _, _ = fs.fetchChunk(r, abs, 0, size) })
				}
			}
		}
	}
	for _, pn := range packs {
		if total > prefetchMaxBytes && !strings.HasSuffix(pn, ".idx") {
			continue
		}
		abs := path.Join(objects, "pack", pn)
		st, ok := fs.cachedStat(abs)
		if !ok || st == nil {
			continue
		}
		for idx := int64(0); idx*fs.chunkSize < st.Size; idx++ {
			do(func() { _, _ = fs.fetchChunk(r, abs, idx, st.Size) })
		}
	}
	wg.Wait()
}

// mentionsGit reports whether a Dappfile may map git sources: only then
// is it worth reading .git ahead, beside the Dappfile's templates.
func mentionsGit(dappfile []byte) bool { return bytes.Contains(dappfile, []byte("git")) }

// prefetch solves .git and warms its reader (see readerFS.prefetch),
// counted as the io row git-prefetch of the trace: it runs beside the
// Dappfile's reading, so its time overlaps the phases.
// It stops asking for more once stop is done (its requests fail, and a
// read that waited on one of them reads for itself).
func (g *contextGit) prefetch(ctx, stop context.Context) {
	if _, err := g.dotGitFS(ctx); err != nil {
		return
	}
	rfs, ok := g.fs.(*readerFS)
	if !ok {
		return
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
