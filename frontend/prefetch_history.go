package frontend

import (
	"bytes"
	"io"
	"sort"
	"sync/atomic"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// wantKind is what the read-ahead needs of an object.
type wantKind int

const (
	// wantCommit: a commit of HEAD's first-parent chain, decoded.
	wantCommit wantKind = iota
	// wantTree: a tree of a commit of the chain, decoded.
	wantTree
	// wantSize: a blob whose size the plan reads; only what go-git reads
	// to learn it.
	wantSize
	// wantBlob: a blob of a recent commit, whole: the conversion writes
	// a patch that small inline (see recentBlobs).
	wantBlob
)

// prefetchPatchBytes bounds the blobs of the newest commits read whole:
// a latest patch below the gitCache threshold travels inline in the build
// definition (llb.GitOpt.ExportPatchesAbove), so every build, a no-op
// too, reads its files' content.
const prefetchPatchBytes = gitsource.DefaultPatchThreshold

// want is an object the read-ahead reads.
type want struct {
	h    plumbing.Hash
	kind wantKind
	// child is the commit whose first parent h is (wantCommit, but for
	// HEAD): the plan's walk reads the parent to compare their periods.
	child *object.Commit
	// rounds counts the levels that read for it.
	rounds int
}

// readReq is one request of a level: a range of a pack, or the start
// of a loose object (whole for a commit or a tree: its first chunk).
type readReq struct {
	abs      string
	off, end int64
	loose    plumbing.Hash
	chunk    bool
}

// history reads HEAD's first-parent chain as Plan walks it, the trees of
// its commits (those of every commit but the ones equal to a newer
// commit's), then what go-git reads to learn the size of every blob that
// changes between two commits of the chain: the plan measures the
// change after the last stage pin, which depends on the mapping, so all
// of the chain. The conversion also reads the sizes of the files of a
// layer of few files (gitllb.ExportAboveFiles) to decide how to write
// it: the changed ones again, and the archive's when the anchor has so
// few.
func (w *warmer) history(head plumbing.Hash) {
	w.run([]want{w.wantOnce(head, wantCommit, nil)[0]})
	if len(w.chain) == 0 {
		return
	}
	var blobs []want
	// byCommit holds the blobs each commit of the chain writes first,
	// newest commit first
	var byCommit [][]plumbing.Hash
	for i := 1; i < len(w.chain); i++ {
		n := len(blobs)
		w.changedBlobs(w.chain[i].TreeHash, w.chain[i-1].TreeHash, 0, &blobs)
		var hs []plumbing.Hash
		for _, b := range blobs[n:] {
			hs = append(hs, b.h)
		}
		byCommit = append(byCommit, hs)
	}
	var files []plumbing.Hash
	if w.files(w.chain[len(w.chain)-1].TreeHash, 0, &files) {
		for _, h := range files {
			blobs = append(blobs, w.wantOnce(h, wantSize, nil)...)
		}
	}
	w.run(blobs)
	w.run(w.recentBlobs(byCommit))
}

// recentBlobs are the blobs the newest commits write, whole commits at a
// time, as long as their sizes add up to prefetchPatchBytes: a superset
// of the latest patch of a mapping whose patch stays below the gitCache
// threshold, whose files the conversion writes inline. A patch that
// reaches further back reads the rest itself.
func (w *warmer) recentBlobs(byCommit [][]plumbing.Hash) []want {
	var out []want
	var total int64
	for _, hs := range byCommit {
		var sum int64
		for _, h := range hs {
			n, ok := w.cachedSize(h)
			if !ok {
				return out
			}
			sum += n
		}
		if total += sum; total > prefetchPatchBytes {
			return out
		}
		for _, h := range hs {
			out = append(out, want{h: h, kind: wantBlob})
		}
	}
	return out
}

// cachedSize is the size of blob h from what the read-ahead read of it.
func (w *warmer) cachedSize(h plumbing.Hash) (int64, bool) {
	if p, off := w.locate(h); p != nil {
		n, err := p.pf.GetSizeByOffset(off)
		return n, err == nil
	}
	dt, ok := w.fs.cachedAt(w.looseAbs(h), 0)
	if !ok {
		return 0, false
	}
	return gitsource.LooseBlobSize(dt)
}

// files adds the blobs of tree h to out; false when they are more than
// gitllb.ExportAboveFiles or a tree is missing.
func (w *warmer) files(h plumbing.Hash, depth int, out *[]plumbing.Hash) bool {
	t := w.trees[h]
	if t == nil || depth > prefetchMaxTreeDepth {
		return false
	}
	for _, e := range t.Entries {
		switch e.Mode {
		case filemode.Dir:
			if !w.files(e.Hash, depth+1, out) {
				return false
			}
		case filemode.Submodule:
		default:
			if *out = append(*out, e.Hash); len(*out) > gitllb.ExportAboveFiles {
				return false
			}
		}
	}
	return true
}

// wantOnce is h as a want, unless it was wanted before or the bound is
// reached.
func (w *warmer) wantOnce(h plumbing.Hash, kind wantKind, child *object.Commit) []want {
	if w.wanted[h] || len(w.wanted) >= prefetchMaxObjects {
		return nil
	}
	w.wanted[h] = true
	return []want{{h: h, kind: kind, child: child}}
}

// run reads wants level by level: each level's requests go out together,
// and what they bring names the next level's.
func (w *warmer) run(wants []want) {
	for len(wants) > 0 {
		var waiting []want
		var reqs []readReq
		for i := 0; i < len(wants); i++ {
			wt := wants[i]
			rs, ok := w.need(wt)
			if !ok {
				continue
			}
			if len(rs) == 0 {
				wants = append(wants, w.decode(wt)...)
				continue
			}
			// a delta chain takes a level per base; a want that is still
			// short of its bytes after that gave up (budget, errors)
			if wt.rounds++; wt.rounds > prefetchMaxDelta+1 {
				continue
			}
			reqs = append(reqs, rs...)
			waiting = append(waiting, wt)
		}
		if !w.fetch(reqs) {
			return
		}
		wants = waiting
	}
}

// need is what is still to read for wt; ok is false when the read-ahead
// gives up on it (go-git will find out why).
func (w *warmer) need(wt want) ([]readReq, bool) {
	if p, off := w.locate(wt.h); p != nil {
		return w.needPacked(p, off, wt.kind)
	}
	abs := w.looseAbs(wt.h)
	if w.missing(wt.h) || w.fs.listedAbsent(abs) {
		return nil, false
	}
	switch wt.kind {
	case wantBlob:
		// the whole file (its first chunk), where a size read its start
		if w.fs.hasChunk(abs, 0) {
			return nil, true
		}
		return []readReq{{abs: abs, loose: wt.h, chunk: true}}, true
	case wantCommit, wantTree:
		if _, ok := w.fs.cachedAt(abs, 0); ok {
			return nil, true
		}
		return []readReq{{abs: abs, loose: wt.h, chunk: true}}, true
	}
	// gitsource reads a loose blob's size from this much of its file
	// (go-git inflated 32 KiB of it)
	// (a shorter file comes whole)
	if _, ok := w.fs.cachedAt(abs, 0); ok {
		return nil, true
	}
	return []readReq{{abs: abs, end: gitsource.LooseHeaderPrefix, loose: wt.h}}, true
}

func (w *warmer) looseAbs(h plumbing.Hash) string {
	hex := h.String()
	return w.gitAbs("objects/" + hex[:2] + "/" + hex[2:])
}

// fetch sends a level's requests, with ranges of a pack closer than
// prefetchGap merged; false once the budget is spent or when none of
// them could be read.
func (w *warmer) fetch(reqs []readReq) bool {
	if w.bytes.Load() > prefetchMaxBytes {
		return false
	}
	g := newGroup(prefetchParallel)
	var read atomic.Bool
	merged := mergeRanges(reqs)
	defer w.fs.endLevel(false)
	for _, rq := range merged {
		g.run(func() {
			var n int
			var err error
			if rq.chunk {
				var dt []byte
				dt, err = w.fs.fetchChunk(w.r, rq.abs, 0, -1)
				n = len(dt)
			} else {
				n = int(rq.end - rq.off)
				err = w.fs.fetchSpan(w.r, rq.abs, rq.off, rq.end)
			}
			w.bytes.Add(int64(n))
			if err == nil {
				read.Store(true)
			} else if !rq.loose.IsZero() {
				w.markMissing(rq.loose)
			}
		})
	}
	g.wait()
	// a level that could read nothing (the reader stopped) is the last
	return len(merged) == 0 || read.Load()
}

// mergeRanges merges ranges of one file closer than prefetchGap, up to
// readChunk bytes a request.
func mergeRanges(reqs []readReq) []readReq {
	sort.Slice(reqs, func(i, j int) bool {
		if reqs[i].abs != reqs[j].abs {
			return reqs[i].abs < reqs[j].abs
		}
		return reqs[i].off < reqs[j].off
	})
	var out []readReq
	for _, rq := range reqs {
		if n := len(out); n > 0 && !rq.chunk && rq.loose.IsZero() {
			last := &out[n-1]
			if last.abs == rq.abs && !last.chunk && last.loose.IsZero() &&
				rq.off-last.end < prefetchGap && max(rq.end, last.end)-last.off <= readChunk {
				last.end = max(last.end, rq.end)
				continue
			}
		}
		out = append(out, rq)
	}
	return out
}

func (w *warmer) markMissing(h plumbing.Hash) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.absent == nil {
		w.absent = map[plumbing.Hash]bool{}
	}
	w.absent[h] = true
}

func (w *warmer) missing(h plumbing.Hash) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.absent[h]
}

// decode decodes a commit or a tree that is cached and returns what it
// leads to: a commit its tree and the parent the plan's walk reads, a
// tree its subtrees.
func (w *warmer) decode(wt want) []want {
	if wt.kind == wantSize || wt.kind == wantBlob {
		return nil
	}
	obj, ok := w.object(wt.h)
	if !ok {
		return nil
	}
	switch wt.kind {
	case wantCommit:
		c := &object.Commit{}
		if obj.Type() != plumbing.CommitObject || c.Decode(obj) != nil {
			return nil
		}
		return w.walked(c, wt.child)
	default:
		t := &object.Tree{}
		if obj.Type() != plumbing.TreeObject || t.Decode(obj) != nil {
			return nil
		}
		w.trees[wt.h] = t
		var out []want
		for _, e := range t.Entries {
			if e.Mode == filemode.Dir {
				out = append(out, w.wantOnce(e.Hash, wantTree, nil)...)
			}
		}
		return out
	}
}

// walked takes commit c of the walk from HEAD, child's first parent, as
// Plan's walk does (gitsource.ArchiveStart, PlanOpt.NewPeriod): a parent
// in another period ends the chain without joining it.
func (w *warmer) walked(c, child *object.Commit) []want {
	if child != nil && (gitsource.PlanOpt{}).NewPeriod(child, c) {
		return nil
	}
	if len(w.chain) >= gitsource.DefaultMaxWalk {
		return nil
	}
	w.chain = append(w.chain, c)
	out := w.wantOnce(c.TreeHash, wantTree, nil)
	if !gitsource.ArchiveStart(c) {
		out = append(out, w.wantOnce(c.ParentHashes[0], wantCommit, c)...)
	}
	return out
}

// object decodes h from the cache: from its pack, or its loose file.
func (w *warmer) object(h plumbing.Hash) (plumbing.EncodedObject, bool) {
	if p, off := w.locate(h); p != nil {
		return w.packedObject(p, off)
	}
	dt, ok := w.fs.cachedAt(w.looseAbs(h), 0)
	if !ok {
		return nil, false
	}
	rd, err := objfile.NewReader(bytes.NewReader(dt))
	if err != nil {
		return nil, false
	}
	defer rd.Close()
	typ, size, err := rd.Header()
	if err != nil || size > prefetchMaxObjectSize {
		return nil, false
	}
	content, err := io.ReadAll(io.LimitReader(rd, size))
	if err != nil || int64(len(content)) != size {
		return nil, false
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(typ)
	obj.SetSize(size)
	if _, err := obj.Write(content); err != nil {
		return nil, false
	}
	return obj, true
}

// changedBlobs adds the blobs of tree newer that differ from older's at
// the same path (the files a commit adds or modifies), reading only the
// subtrees that differ.
func (w *warmer) changedBlobs(older, newer plumbing.Hash, depth int, out *[]want) {
	b := w.trees[newer]
	if older == newer || b == nil || depth > prefetchMaxTreeDepth {
		return
	}
	old := map[string]object.TreeEntry{}
	if a := w.trees[older]; a != nil {
		for _, e := range a.Entries {
			old[e.Name] = e
		}
	}
	for _, e := range b.Entries {
		x, ok := old[e.Name]
		if ok && x.Hash == e.Hash && x.Mode == e.Mode {
			continue
		}
		switch e.Mode {
		case filemode.Dir:
			var from plumbing.Hash
			if ok && x.Mode == filemode.Dir {
				from = x.Hash
			}
			w.changedBlobs(from, e.Hash, depth+1, out)
		case filemode.Submodule:
		default:
			*out = append(*out, w.wantOnce(e.Hash, wantSize, nil)...)
		}
	}
}
