package gitsource

import (
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkg/errors"
)

// entry is one file of a mapping: a regular file, an executable or a
// symlink. Rel is relative to the mapping's add directory.
type entry struct {
	Rel  string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// change is one path that differs between two trees of a mapping. From is
// nil for an added path, To for a deleted one.
type change struct {
	Rel      string
	From, To *entry
}

// view is a mapping's window on a repository: the add directory and the
// include/exclude filter.
type view struct {
	repo   *Repo
	add    string // slash-separated, no leading slash; "" for the root
	filter *Filter
	// trees caches decoded trees: go-git caches objects, not their decoding.
	trees map[plumbing.Hash]*object.Tree
}

func newView(repo *Repo, add string, include, exclude []string) (*view, error) {
	f, err := NewFilter(include, exclude)
	if err != nil {
		return nil, err
	}
	return &view{repo: repo, add: strings.Trim(path.Clean("/"+add), "/"), filter: f, trees: map[plumbing.Hash]*object.Tree{}}, nil
}

// tree returns the add directory's tree at commit c, or nil when the
// commit has no such directory.
func (v *view) tree(c *object.Commit) (*object.Tree, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read tree of %s", c.Hash)
	}
	if v.add == "" {
		return t, nil
	}
	sub, err := t.Tree(v.add)
	if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read %s at %s", v.add, c.Hash)
	}
	return sub, nil
}

// files lists the mapping's files in t, sorted by path. Submodules are
// returned separately.
func (v *view) files(t *object.Tree) (files []entry, submodules []string, err error) {
	if t == nil {
		return nil, nil, nil
	}
	err = v.walk(t, "", func(e entry) {
		if e.Mode == filemode.Submodule {
			submodules = append(submodules, e.Rel)
			return
		}
		files = append(files, e)
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, submodules, err
}

func (v *view) walk(t *object.Tree, dir string, fn func(entry)) error {
	for _, te := range t.Entries {
		rel := path.Join(dir, te.Name)
		if te.Mode == filemode.Dir {
			if !v.filter.MayContain(rel) {
				continue
			}
			sub, err := v.readTree(te.Hash)
			if err != nil {
				return err
			}
			if err := v.walk(sub, rel, fn); err != nil {
				return err
			}
			continue
		}
		if v.filter.Match(rel) {
			fn(entry{Rel: rel, Mode: te.Mode, Hash: te.Hash})
		}
	}
	return nil
}

// diff returns the mapping's changes from a to b, sorted by path. Renames
// come out as a deletion and an addition; submodule entries are skipped.
// Subtrees with equal hashes are skipped without reading them, and decoded
// trees are cached, since Plan diffs every consecutive pair of a walk.
func (v *view) diff(a, b *object.Tree) ([]change, error) {
	var out []change
	if err := v.diffTrees(a, b, "", &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

func (v *view) diffTrees(a, b *object.Tree, dir string, out *[]change) error {
	ea, eb := entriesByName(a), entriesByName(b)
	for name, x := range ea {
		y, ok := eb[name]
		if ok && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		var yp *object.TreeEntry
		if ok {
			yp = &y
		}
		if err := v.diffEntry(path.Join(dir, name), &x, yp, out); err != nil {
			return err
		}
	}
	for name, y := range eb {
		if _, ok := ea[name]; !ok {
			if err := v.diffEntry(path.Join(dir, name), nil, &y, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// diffEntry compares one name of two trees; x or y is nil when absent.
func (v *view) diffEntry(rel string, x, y *object.TreeEntry, out *[]change) error {
	var xt, yt *object.Tree
	var err error
	if x != nil && x.Mode == filemode.Dir {
		if xt, err = v.subtree(rel, x); err != nil {
			return err
		}
		x = nil
	}
	if y != nil && y.Mode == filemode.Dir {
		if yt, err = v.subtree(rel, y); err != nil {
			return err
		}
		y = nil
	}
	if xt != nil || yt != nil {
		if err := v.diffTrees(xt, yt, rel, out); err != nil {
			return err
		}
	}
	if x == nil && y == nil {
		return nil
	}
	from, to := fileEntry(rel, x), fileEntry(rel, y)
	if sameEntry(from, to) || !v.filter.Match(rel) {
		return nil
	}
	*out = append(*out, change{Rel: rel, From: from, To: to})
	return nil
}

// subtree reads a directory entry's tree, or nil when the filter rules
// out everything below it.
func (v *view) subtree(rel string, e *object.TreeEntry) (*object.Tree, error) {
	if !v.filter.MayContain(rel) {
		return nil, nil
	}
	return v.readTree(e.Hash)
}

func (v *view) readTree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := v.trees[h]; ok {
		return t, nil
	}
	t, err := v.repo.r.TreeObject(h)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read tree %s", h)
	}
	v.trees[h] = t
	return t, nil
}

func entriesByName(t *object.Tree) map[string]object.TreeEntry {
	if t == nil {
		return nil
	}
	m := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	return m
}

// fileEntry keeps files and symlinks; submodules are left out.
func fileEntry(rel string, e *object.TreeEntry) *entry {
	if e == nil || e.Mode == filemode.Submodule {
		return nil
	}
	return &entry{Rel: rel, Mode: e.Mode, Hash: e.Hash}
}
