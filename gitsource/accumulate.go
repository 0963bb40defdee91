package gitsource

import (
	"sort"

	"github.com/flant/dapp-frontend/dappfile"
)

// tarHeaderSize is what a changed path costs in a layer besides its data.
const tarHeaderSize = 512

// accumulator measures the net change of a mapping over a run of commits:
// a path changed and changed back costs nothing.
type accumulator struct {
	paths map[string]*accPath
}

type accPath struct {
	orig, cur *entry
	size      int64
}

func newAccumulator() *accumulator {
	return &accumulator{paths: map[string]*accPath{}}
}

// add applies one commit's changes and returns the accumulated size.
func (a *accumulator) add(changes []change) (int64, error) {
	for _, c := range changes {
		p, ok := a.paths[c.Rel]
		if !ok {
			p = &accPath{orig: c.From}
			a.paths[c.Rel] = p
		}
		p.cur = c.To
		if sameEntry(p.orig, p.cur) {
			delete(a.paths, c.Rel)
			continue
		}
		p.size = tarHeaderSize
		if c.To != nil {
			n, err := c.To.repo.blobSize(c.To.Hash)
			if err != nil {
				return 0, err
			}
			p.size += n
		}
	}
	var total int64
	for _, p := range a.paths {
		total += p.size
	}
	return total, nil
}

func (a *accumulator) empty() bool { return len(a.paths) == 0 }

func sameEntry(a, b *entry) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Mode == b.Mode && a.Hash == b.Hash
}

func sortWarnings(ws []dappfile.Warning) {
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Message < ws[j].Message })
}
