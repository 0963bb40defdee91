package gitsource

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkg/errors"
)

// maxSubmoduleDepth bounds how deep submodules nest: a cycle of
// submodules (each recording the other) must not recurse forever.
const maxSubmoduleDepth = 8

// submoduleHint is how a user gets a left-out submodule into the build.
const submoduleHint = "run `git submodule update --init` (add --recursive for nested submodules) before the build"

// scope is the repository a tree's entries come from: the superproject at
// one of its commits, or a submodule at the commit its superproject
// records. Files keep their repository, so their blobs are read from it.
type scope struct {
	repo *Repo
	// root is the commit's root tree; its .gitmodules names the
	// submodules this scope records.
	root *object.Tree
	// base is where the scope's tree lies in the mapping ("" for the
	// superproject) and prefix is that tree's path in repo (the add
	// directory for the superproject, "" for a submodule).
	base, prefix string
	depth        int
	// commit is the commit the tree is read at; submodule is the
	// gitlink's path in the work tree ("" for the superproject). Errors
	// about the tree name both.
	commit    plumbing.Hash
	submodule string
	modules   map[string]string // .gitmodules, path → name; nil until read
}

// node is a directory of the mapping: a tree and where its entries come
// from. A zero node is an empty (or filtered-out) directory.
type node struct {
	t  *object.Tree
	sc *scope
}

// repoPath maps a path of the mapping inside the scope to the scope's
// repository, where .gitmodules names it.
func (sc *scope) repoPath(rel string) string {
	r := strings.TrimPrefix(strings.TrimPrefix(rel, sc.base), "/")
	return path.Join(sc.prefix, r)
}

// moduleName is the submodule name .gitmodules gives the path; without an
// entry it is the path, which is what `git submodule add` picks.
func (sc *scope) moduleName(p string) (string, error) {
	if sc.modules == nil {
		m, err := readModules(sc.root)
		if err != nil {
			return "", err
		}
		sc.modules = m
	}
	if name, ok := sc.modules[p]; ok {
		return name, nil
	}
	return p, nil
}

// readModules parses .gitmodules of a root tree into path → name. Entries
// whose name could leave .git/modules (e.g. "..") are dropped, as git
// drops them.
func readModules(root *object.Tree) (map[string]string, error) {
	out := map[string]string{}
	f, err := root.File(".gitmodules")
	if errors.Is(err, object.ErrFileNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, errors.Wrap(err, "failed to read .gitmodules")
	}
	dt, err := f.Contents()
	if err != nil {
		return nil, errors.Wrap(err, "failed to read .gitmodules")
	}
	mods := config.NewModules()
	if err := mods.Unmarshal([]byte(dt)); err != nil {
		return nil, errors.Wrap(err, "failed to parse .gitmodules")
	}
	for name, sm := range mods.Submodules {
		if sm.Path == "" || errors.Is(sm.Validate(), config.ErrModuleBadName) {
			continue
		}
		out[strings.Trim(path.Clean("/"+sm.Path), "/")] = name
	}
	return out, nil
}

// leftOut is a submodule the build cannot read, reported as a warning.
type leftOut struct {
	path   string // in the work tree
	commit plumbing.Hash
	reason string
}

// submodule returns the tree the gitlink at rel of sc stands for: the
// submodule's root tree at the recorded commit, read from the submodule's
// repository in the superproject's .git/modules. It depends only on the
// recorded commit, never on what is checked out. When the repository or
// the commit is missing, the submodule is an empty node and is recorded
// in v.left for a warning: the build goes on without it, as before
// submodules were supported.
func (v *view) submodule(sc *scope, rel string, commit plumbing.Hash) (node, error) {
	if sc.depth >= maxSubmoduleDepth {
		return v.leaveOut(rel, commit, fmt.Sprintf("submodules nest deeper than %d levels", maxSubmoduleDepth)), nil
	}
	name, err := sc.moduleName(sc.repoPath(rel))
	if err != nil {
		return node{}, err
	}
	repo, err := v.openModule(sc.repo, name)
	if err != nil {
		return node{}, err
	}
	if repo == nil {
		return v.leaveOut(rel, commit, fmt.Sprintf("its repository (.git/modules/%s) is missing", name)), nil
	}
	c, err := repo.r.CommitObject(commit)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return v.leaveOut(rel, commit, fmt.Sprintf("its repository (.git/modules/%s) does not have the recorded commit", name)), nil
	}
	if err != nil {
		return node{}, errors.Wrapf(err, "failed to read commit %s of submodule %q", commit, name)
	}
	nsc := &scope{repo: repo, base: rel, depth: sc.depth + 1, commit: commit, submodule: path.Join(v.add, rel)}
	root, err := v.readTree(nsc, "", c.TreeHash)
	if err != nil {
		return node{}, err
	}
	nsc.root = root
	return node{t: root, sc: nsc}, nil
}

// moduleKey names a submodule repository: nested ones live in their
// parent's modules/, so the name alone is not unique.
type moduleKey struct {
	parent *Repo
	name   string
}

// openModule opens the repository of submodule name of parent, or returns
// nil when it was never initialised. Repositories are opened once per view.
func (v *view) openModule(parent *Repo, name string) (*Repo, error) {
	key := moduleKey{parent, name}
	if r, ok := v.modules[key]; ok {
		return r, nil
	}
	fs, err := parent.fs.Chroot(path.Join("modules", name))
	if err != nil {
		return nil, errors.Wrapf(err, "failed to open submodule %q", name)
	}
	repo, err := OpenFS(fs)
	if errors.Is(err, ErrNotRepository) {
		// not initialised (or not a repository): the caller leaves it out
		repo, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	v.modules[key] = repo
	return repo, nil
}

func (v *view) leaveOut(rel string, commit plumbing.Hash, reason string) node {
	p := path.Join(v.add, rel)
	v.left[p+"@"+commit.String()] = leftOut{path: p, commit: commit, reason: reason}
	return node{}
}

// leftOutWarnings describes every submodule the view could not read so
// far, sorted, so the warnings do not depend on the order of reads.
func (v *view) leftOutWarnings() []string {
	var out []string
	for _, l := range v.left {
		out = append(out, fmt.Sprintf("submodule %q (commit %s) is left out: %s; %s", l.path, short(l.commit), l.reason, submoduleHint))
	}
	sort.Strings(out)
	return out
}
