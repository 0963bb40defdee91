package gitsource

import (
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkg/errors"
)

// entry is one file of a mapping: a regular file, an executable or a
// symlink. Rel is relative to the mapping's add directory; repo holds the
// blob (the superproject's repository, or a submodule's).
type entry struct {
	Rel  string
	Mode filemode.FileMode
	Hash plumbing.Hash
	repo *Repo
}

// change is one path that differs between two trees of a mapping. From is
// nil for an added path, To for a deleted one.
type change struct {
	Rel      string
	From, To *entry
}

// view is a mapping's window on a repository: the add directory and the
// include/exclude filter. Submodules inside it are expanded to their
// files (see submodule).
//
// A mapping whose add names a single file (dapp's way to put one file,
// possibly renamed, into the image) is a view of the file's directory
// that holds that one entry: the file's path relative to the view is its
// name, which filters and stageDependencies match, and the emitter puts
// it at `to` itself (see MappingPlan.target).
type view struct {
	repo *Repo
	add  string // slash-separated, no leading slash; "" for the root
	// file is the name of the single file a file mapping adds (in the add
	// directory); "" for a directory mapping.
	file   string
	filter *Filter
	// trees caches decoded and checked trees: go-git caches objects, not
	// their decoding. Hashes name content, so one cache serves all
	// repositories.
	trees map[plumbing.Hash]*object.Tree
	// modules caches opened submodule repositories (nil: not initialised).
	modules map[moduleKey]*Repo
	// left holds the submodules that could not be read.
	left map[string]leftOut
}

// newView is the window of a mapping on repo; file says that add names a
// single file (see addKindAt).
func newView(repo *Repo, add string, include, exclude []string, file bool) (*view, error) {
	f, err := NewFilter(include, exclude)
	if err != nil {
		return nil, err
	}
	v := &view{repo: repo, add: cleanAdd(add), filter: f,
		trees: map[plumbing.Hash]*object.Tree{}, modules: map[moduleKey]*Repo{}, left: map[string]leftOut{}}
	if file && v.add != "" {
		v.add, v.file = splitAdd(v.add)
	}
	return v, nil
}

// cleanAdd is add slash-separated without leading slash, "" for the root.
func cleanAdd(add string) string { return strings.Trim(path.Clean("/"+add), "/") }

func splitAdd(add string) (dir, name string) {
	dir, name = path.Split(add)
	return strings.TrimSuffix(dir, "/"), name
}

// addPath is the mapping's add as given (cleaned, no leading slash).
func (v *view) addPath() string { return path.Join(v.add, v.file) }

// addKind is what a mapping's add names at a commit.
type addKind int

const (
	addMissing addKind = iota
	addDir
	addFile
	addSubmodule
)

// addKindAt looks add up in commit h's tree; "" (the root) is a directory.
// In the same directory, names close to a missing one are returned too,
// for a "did you mean"; only names that pass the tree check and print as
// they are (UTF-8, no control characters).
func (r *Repo) addKindAt(h plumbing.Hash, add string) (addKind, []string, error) {
	add = cleanAdd(add)
	if add == "" {
		return addDir, nil, nil
	}
	c, err := r.commit(h)
	if err != nil {
		return 0, nil, err
	}
	root, err := c.Tree()
	if err != nil {
		return 0, nil, errors.Wrapf(err, "failed to read tree of %s", h)
	}
	// walk the path ourselves: go-git's FindEntry fails with "object not
	// found" when a file stands where a directory is expected
	dir, t := "", root
	names := strings.Split(add, "/")
	var e *object.TreeEntry
	for i, name := range names {
		e = nil
		for j := range t.Entries {
			if t.Entries[j].Name == name {
				e = &t.Entries[j]
				break
			}
		}
		if e == nil || (i < len(names)-1 && e.Mode != filemode.Dir) {
			var near []string
			for _, te := range t.Entries {
				// a suggestion is printed: offer only names a mapping
				// could take, never a crafted one
				if nameProblem(te.Name) == "" && utf8.ValidString(te.Name) && !hasControl(te.Name) {
					near = append(near, path.Join(dir, te.Name))
				}
			}
			return addMissing, near, nil
		}
		if i < len(names)-1 {
			dir = path.Join(dir, name)
			if t, err = r.r.TreeObject(e.Hash); err != nil {
				return 0, nil, errors.Wrapf(err, "failed to read %s at %s", dir, h)
			}
		}
	}
	switch e.Mode {
	case filemode.Dir:
		return addDir, nil, nil
	case filemode.Submodule:
		return addSubmodule, nil, nil
	}
	return addFile, nil, nil
}

// tree returns the add directory at commit c, or a zero node when the
// commit has no such directory. For a file mapping it is a tree that holds
// just the file, or a zero node when the commit has no file at add (a
// directory there does not count: the mapping adds one file). Every tree
// read on the way is checked (see checkTree), also those above add: which
// entry a path means must not be ambiguous.
func (v *view) tree(c *object.Commit) (node, error) {
	sc := &scope{repo: v.repo, prefix: v.add, commit: c.Hash}
	root, err := v.readTree(sc, "", c.TreeHash)
	if err != nil {
		return node{}, err
	}
	sc.root = root
	t, dir := root, ""
	if v.add != "" {
		for _, name := range strings.Split(v.add, "/") {
			e := findEntry(t, name)
			if e == nil || e.Mode != filemode.Dir {
				return node{}, nil
			}
			dir = path.Join(dir, name)
			if t, err = v.readTree(sc, dir, e.Hash); err != nil {
				return node{}, err
			}
		}
	}
	if v.file == "" {
		return node{t: t, sc: sc}, nil
	}
	if e := findEntry(t, v.file); e != nil && e.Mode != filemode.Dir && e.Mode != filemode.Submodule {
		return node{t: &object.Tree{Entries: []object.TreeEntry{*e}}, sc: sc}, nil
	}
	return node{}, nil
}

func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	return nil
}

// files lists the mapping's files in n, sorted by path, with the files of
// its submodules in place of their gitlinks.
func (v *view) files(n node) ([]entry, error) {
	if n.t == nil {
		return nil, nil
	}
	var files []entry
	err := v.walk(n, "", func(e entry) { files = append(files, e) })
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, err
}

func (v *view) walk(n node, dir string, fn func(entry)) error {
	for _, te := range n.t.Entries {
		rel := path.Join(dir, te.Name)
		sub, file, err := v.split(n.sc, rel, &te)
		if err != nil {
			return err
		}
		if sub.t != nil {
			if err := v.walk(sub, rel, fn); err != nil {
				return err
			}
		}
		if file != nil && v.filter.Match(rel) {
			fn(*fileEntry(rel, file, n.sc))
		}
	}
	return nil
}

// split turns a directory or submodule entry into a node (zero when the
// filter rules out everything below it) and leaves a file entry as is.
func (v *view) split(sc *scope, rel string, e *object.TreeEntry) (node, *object.TreeEntry, error) {
	if e == nil || (e.Mode != filemode.Dir && e.Mode != filemode.Submodule) {
		return node{}, e, nil
	}
	if !v.filter.MayContain(rel) {
		return node{}, nil, nil
	}
	if e.Mode == filemode.Submodule {
		n, err := v.submodule(sc, rel, e.Hash)
		return n, nil, err
	}
	t, err := v.readTree(sc, sc.repoPath(rel), e.Hash)
	return node{t: t, sc: sc}, nil, err
}

// diff returns the mapping's changes from a to b, sorted by path. Renames
// come out as a deletion and an addition; a submodule whose recorded
// commit moved contributes the diff of its two trees. Subtrees with equal
// hashes are skipped without reading them, and decoded trees are cached,
// since Plan diffs every consecutive pair of a walk.
func (v *view) diff(a, b node) ([]change, error) {
	var out []change
	if err := v.diffTrees(a, b, "", &out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, nil
}

func (v *view) diffTrees(a, b node, dir string, out *[]change) error {
	ea, eb := entriesByName(a.t), entriesByName(b.t)
	for name, x := range ea {
		y, ok := eb[name]
		// equal hashes are equal content, also across repositories
		if ok && x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		var yp *object.TreeEntry
		if ok {
			yp = &y
		}
		if err := v.diffEntry(path.Join(dir, name), side{a.sc, &x}, side{b.sc, yp}, out); err != nil {
			return err
		}
	}
	for name, y := range eb {
		if _, ok := ea[name]; !ok {
			if err := v.diffEntry(path.Join(dir, name), side{}, side{b.sc, &y}, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// side is one name of one of the two trees diffTrees compares; e is nil
// when the tree has no such name.
type side struct {
	sc *scope
	e  *object.TreeEntry
}

// diffEntry compares one name of two trees. A directory or submodule on
// either side is diffed as a tree, a file as an entry, so a file replaced
// by a directory (or a submodule) is a removal plus the additions below.
func (v *view) diffEntry(rel string, x, y side, out *[]change) error {
	xn, xf, err := v.split(x.sc, rel, x.e)
	if err != nil {
		return err
	}
	yn, yf, err := v.split(y.sc, rel, y.e)
	if err != nil {
		return err
	}
	if xn.t != nil || yn.t != nil {
		if err := v.diffTrees(xn, yn, rel, out); err != nil {
			return err
		}
	}
	if xf == nil && yf == nil {
		return nil
	}
	from, to := fileEntry(rel, xf, x.sc), fileEntry(rel, yf, y.sc)
	if sameEntry(from, to) || !v.filter.Match(rel) {
		return nil
	}
	*out = append(*out, change{Rel: rel, From: from, To: to})
	return nil
}

// readTree reads tree h of sc's repository, at dir of sc's commit, and
// checks its entries before anything walks them: a tree is cached only
// once it passed, so each is checked once per view.
func (v *view) readTree(sc *scope, dir string, h plumbing.Hash) (*object.Tree, error) {
	if t, ok := v.trees[h]; ok {
		return t, nil
	}
	t, err := sc.repo.r.TreeObject(h)
	if err != nil {
		if sc.submodule != "" {
			return nil, errors.Wrapf(err, "failed to read tree %s of commit %s of submodule %q", h, sc.commit, sc.submodule)
		}
		return nil, errors.Wrapf(err, "failed to read tree %s of commit %s", h, sc.commit)
	}
	if err := checkTree(sc, dir, t); err != nil {
		return nil, err
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

// fileEntry is a file or symlink of sc's repository, nil when e is.
func fileEntry(rel string, e *object.TreeEntry, sc *scope) *entry {
	if e == nil {
		return nil
	}
	return &entry{Rel: rel, Mode: e.Mode, Hash: e.Hash, repo: sc.repo}
}

// hasControl reports a control character, which would rewrite the
// terminal line a message is printed on.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}
