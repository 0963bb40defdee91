package gitsource

import (
	"path"
	"sort"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/go-git/go-billy/v5"
	git "github.com/go-git/go-git/v5"
	"github.com/pkg/errors"
)

// Uncommitted lists the mapping's files whose working-tree state differs
// from HEAD: modified, staged or untracked (ignored files do not count).
// Files missing from the work tree are not listed: the frontend sees the
// work tree through the context transfer, which leaves out what
// .dockerignore names, so a missing file proves nothing. Builds take the committed state, so the frontend warns with this
// list (or builds the work tree in dev mode). worktree is the build context's
// root, e.g. the frontend's gateway reader over llb.Local("context") with the mapping's add
// directory included; go-git hashes only files whose size or mtime differ
// from the index.
func (r *Repo) Uncommitted(worktree billy.Filesystem, m *dappfile.GitMapping) ([]string, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	kind, _, err := r.addKindAt(head, m.Add)
	if err != nil {
		return nil, err
	}
	v, err := newView(r, m.Add, m.IncludePaths, m.ExcludePaths, kind == addFile)
	if err != nil {
		return nil, err
	}
	st, err := r.status(worktree)
	if err != nil {
		return nil, err
	}
	var out []string
	for p, fs := range st {
		if fs.Staging == git.Unmodified && (fs.Worktree == git.Unmodified || fs.Worktree == git.Deleted) {
			continue
		}
		if rel, ok := v.relPath(p); ok && v.filter.Match(rel) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// relPath maps a repository path to the mapping's add directory; a file
// mapping has only its file.
func (v *view) relPath(p string) (string, bool) {
	p = strings.Trim(path.Clean("/"+p), "/")
	rel := p
	if v.add != "" {
		if !strings.HasPrefix(p, v.add+"/") {
			return "", false
		}
		rel = strings.TrimPrefix(p, v.add+"/")
	}
	if v.file != "" && rel != v.file {
		return "", false
	}
	return rel, true
}

// status is go-git's status of worktree against HEAD, computed once per
// work tree: the checks of several mappings may read one transfer of the
// work tree (the union of what they use), each keeping its own files. A
// transferred work tree does not change during a build.
func (r *Repo) status(worktree billy.Filesystem) (git.Status, error) {
	if st, ok := r.statuses[worktree]; ok {
		return st, nil
	}
	wr, err := git.Open(r.r.Storer, worktree)
	if err != nil {
		return nil, errors.Wrap(err, "failed to open the work tree")
	}
	wt, err := wr.Worktree()
	if err != nil {
		return nil, errors.Wrap(err, "failed to open the work tree")
	}
	st, err := wt.Status()
	if err != nil {
		return nil, errors.Wrap(err, "failed to compare the work tree with HEAD")
	}
	if r.statuses == nil {
		r.statuses = map[billy.Filesystem]git.Status{}
	}
	r.statuses[worktree] = st
	return st, nil
}
