package gitsource

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeError says a commit's tree holds an entry that cannot become a path
// of the mapping. git never writes such an entry (`git fsck` reports it and
// `git checkout` refuses it), so a crafted object put it there; taken as
// is, a name like ".." would write outside the mapping's `to` and outside
// the git-export helper's output.
type TreeError struct {
	// Commit is the commit whose tree holds the entry: the repository's,
	// or a submodule's (Submodule is then the gitlink's path).
	Commit    plumbing.Hash
	Submodule string
	// Path is the entry's path in that commit's tree, as stored (it may
	// be any bytes: it is quoted when printed).
	Path   string
	Reason string
}

func (e *TreeError) Error() string {
	where := "commit " + e.Commit.String()
	if e.Submodule != "" {
		where = fmt.Sprintf("commit %s of submodule %q", e.Commit, e.Submodule)
	}
	return fmt.Sprintf("%s has a tree entry %q that cannot be a path: %s; git never writes such an entry (git fsck reports it), so the commit was made by another tool: rewrite it without the entry",
		where, e.Path, e.Reason)
}

// nameProblem says why a tree entry's name is not one file name of a
// directory, or "" when it is.
//
// ".git" is refused in any letter case: git refuses to check out such an
// entry on every platform (case-insensitive filesystems take ".GIT" for
// ".git"), so no real repository holds one, and in an image it plants a
// repository whose config and hooks run when someone uses git there.
// The NTFS and HFS+ spellings git also refuses under core.protectNTFS and
// core.protectHFS ("git~1", ".git " or ignorable code points) are not:
// image layers are Linux filesystems, where they are ordinary names.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case name == ".":
		return `"." is the directory itself`
	case name == "..":
		return `".." is the parent directory`
	case strings.EqualFold(name, ".git"):
		return `".git" (in any letter case) would plant a git repository`
	case strings.Contains(name, "/"):
		return `the name contains "/"`
	case strings.IndexByte(name, 0) >= 0:
		return "the name contains a NUL byte"
	}
	return ""
}

// maxPathLen is Linux's PATH_MAX: a longer path cannot be written, and
// bounding it bounds how deep the tree walks recurse.
const maxPathLen = 4096

// checkTree refuses a tree with an entry nameProblem refuses or with two
// entries of one name (which of them a path means would depend on the
// reader). dir is the tree's path in sc's commit ("" for the root).
func checkTree(sc *scope, dir string, t *object.Tree) error {
	seen := make(map[string]struct{}, len(t.Entries))
	for _, e := range t.Entries {
		reason := nameProblem(e.Name)
		if _, dup := seen[e.Name]; dup && reason == "" {
			reason = "the tree has another entry of the same name"
		}
		p := e.Name
		if dir != "" {
			p = dir + "/" + e.Name
		}
		if len(p) > maxPathLen && reason == "" {
			reason = fmt.Sprintf("the path is longer than %d bytes", maxPathLen)
		}
		if reason != "" {
			return &TreeError{Commit: sc.commit, Submodule: sc.submodule, Path: p, Reason: reason}
		}
		seen[e.Name] = struct{}{}
	}
	return nil
}
