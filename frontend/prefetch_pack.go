package frontend

import (
	"bytes"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// warmPack is a pack whose index the read-ahead decoded: it finds
// objects there and reads only the ranges that hold them.
type warmPack struct {
	abs  string // the .pack file
	size int64
	idx  *idxfile.MemoryIndex
	// offsets of every object, sorted: an object ends where the next
	// one starts
	offsets []int64
	// scanner reads object headers and pf objects, through the reader's
	// cache; both only from the warmer's goroutine
	scanner *packfile.Scanner
	pf      *packfile.Packfile
}

// packFiles is a pack's index and pack file as listed.
type packFiles struct {
	base      string // objects/pack/pack-<hash>
	idx, pack *fstypes.Stat
}

// packIndexes starts reading the index of every pack whole (go-git
// reads them whole too) and returns the packs. Only names git gives
// packs count, as for go-git and the export.
func (w *warmer) packIndexes(g *group, ents []*fstypes.Stat) []packFiles {
	have := map[string]*fstypes.Stat{}
	for _, st := range ents {
		if os.FileMode(st.Mode).IsRegular() {
			have[path.Base(st.Path)] = st
		}
	}
	var out []packFiles
	for name, st := range have {
		base, ok := strings.CutSuffix(name, ".idx")
		if !ok || !packName(base) || have[base+".pack"] == nil {
			continue
		}
		out = append(out, packFiles{base: "objects/pack/" + base, idx: st, pack: have[base+".pack"]})
		w.readWhole(g, w.gitAbs("objects/pack/"+name), st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].base < out[j].base })
	return out
}

// packName reports pack-<hex hash> (SHA-1 or SHA-256).
func packName(base string) bool {
	h, ok := strings.CutPrefix(base, "pack-")
	return ok && (len(h) == 40 || len(h) == 64) && strings.Trim(h, "0123456789abcdef") == ""
}

// decodePacks decodes the indexes read whole.
func (w *warmer) decodePacks(packs []packFiles) {
	for _, p := range packs {
		dt, ok := w.cachedWhole(w.gitAbs(p.base+".idx"), p.idx.Size)
		if !ok {
			continue
		}
		idx := idxfile.NewMemoryIndex()
		if err := idxfile.NewDecoder(bytes.NewReader(dt)).Decode(idx); err != nil {
			continue
		}
		offsets, ok := packOffsets(idx)
		if !ok {
			continue
		}
		abs := w.gitAbs(p.base + ".pack")
		file := func() *readerFile {
			return &readerFile{fs: w.fs, name: p.base + ".pack", abs: abs, size: p.pack.Size, ahead: true}
		}
		w.packs = append(w.packs, &warmPack{abs: abs, size: p.pack.Size, idx: idx, offsets: offsets,
			scanner: packfile.NewScanner(file()), pf: packfile.NewPackfile(idx, nil, file(), 0)})
	}
}

// packOffsets sorts the offsets of a pack's objects.
func packOffsets(idx *idxfile.MemoryIndex) ([]int64, bool) {
	n, err := idx.Count()
	if err != nil || n > prefetchMaxPackObjects {
		return nil, false
	}
	it, err := idx.Entries()
	if err != nil {
		return nil, false
	}
	defer it.Close()
	offsets := make([]int64, 0, n)
	for {
		e, err := it.Next()
		if err != nil {
			break
		}
		offsets = append(offsets, int64(e.Offset))
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	return offsets, true
}

// cachedWhole is the whole of abs if the cache holds it.
func (w *warmer) cachedWhole(abs string, size int64) ([]byte, bool) {
	if size <= 0 || size > prefetchMaxBytes {
		return nil, false
	}
	out := make([]byte, 0, size)
	for int64(len(out)) < size {
		dt, ok := w.fs.cachedAt(abs, int64(len(out)))
		if !ok {
			return nil, false
		}
		out = append(out, dt[:min(int64(len(dt)), size-int64(len(out)))]...)
	}
	return out, true
}

// locate finds h in the packs, in the order of their names.
func (w *warmer) locate(h plumbing.Hash) (*warmPack, int64) {
	for _, p := range w.packs {
		if off, err := p.idx.FindOffset(h); err == nil {
			return p, off
		}
	}
	return nil, 0
}

// end is where the object at off ends: where the next one starts, or
// the pack's trailing checksum.
func (p *warmPack) end(off int64) int64 {
	i := sort.Search(len(p.offsets), func(i int) bool { return p.offsets[i] > off })
	if i < len(p.offsets) {
		return p.offsets[i]
	}
	return p.size - 20
}

func isDelta(t plumbing.ObjectType) bool {
	return t == plumbing.OFSDeltaObject || t == plumbing.REFDeltaObject
}

// needPacked is what is still to read of the pack object at off: for a
// size its header (a delta whole), else the object and every base of its
// delta chain, whole; ok is false when the read-ahead gives up on it.
func (w *warmer) needPacked(p *warmPack, off int64, kind wantKind) ([]readReq, bool) {
	end := p.end(off)
	if end <= off || end-off > prefetchMaxObjectSize {
		return nil, false
	}
	if kind == wantSize {
		if hend := min(end, off+prefetchPackWindow); !w.fs.covered(p.abs, off, hend) {
			return []readReq{{abs: p.abs, off: off, end: hend}}, true
		}
		h, err := p.scanner.SeekObjectHeader(off)
		if err != nil {
			return nil, false
		}
		if isDelta(h.Type) && !w.fs.covered(p.abs, off, end) {
			return []readReq{{abs: p.abs, off: off, end: end}}, true
		}
		return nil, true
	}
	seen := map[int64]bool{off: true}
	for range prefetchMaxDelta {
		end := p.end(off)
		if end <= off || end-off > prefetchMaxObjectSize {
			return nil, false
		}
		if !w.fs.covered(p.abs, off, end) {
			return []readReq{{abs: p.abs, off: off, end: max(end, min(off+prefetchPackAhead, p.size-20))}}, true
		}
		h, err := p.scanner.SeekObjectHeader(off)
		if err != nil || h.Length > prefetchMaxObjectSize {
			return nil, false
		}
		if !isDelta(h.Type) {
			return nil, true
		}
		// the object a delta makes must be small enough too
		if n, err := p.pf.GetSizeByOffset(off); err != nil || n > prefetchMaxObjectSize {
			return nil, false
		}
		switch h.Type {
		case plumbing.OFSDeltaObject:
			if h.OffsetReference >= off || h.OffsetReference < 0 {
				return nil, false
			}
			off = h.OffsetReference
		default:
			if off, err = p.idx.FindOffset(h.Reference); err != nil {
				return nil, false
			}
		}
		if seen[off] {
			return nil, false
		}
		seen[off] = true
	}
	return nil, false
}

// packedObject decodes the object at off, whose delta chain is cached.
func (w *warmer) packedObject(p *warmPack, off int64) (plumbing.EncodedObject, bool) {
	obj, err := p.pf.GetByOffset(off)
	return obj, err == nil
}
