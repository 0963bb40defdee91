package gitsource

import (
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkg/errors"
)

// RecentOpt bounds RecentBlobs.
type RecentOpt struct {
	// MaxCommits is how far back the first-parent history is walked.
	MaxCommits int
	// MaxBytes ends the walk before the commit whose blobs would take
	// the sum of their sizes to it or past it; MaxFiles, likewise, the
	// count of files changed, whose sizes the walk reads.
	MaxBytes int64
	MaxFiles int
	// MinSize and MaxSize bound the blobs listed; the others are walked
	// past, their sizes counted all the same.
	MinSize, MaxSize int64
}

// RecentBlobs lists the blobs of the files the newest commits of head's
// first-parent history changed or added, newest commit first, each once.
// The walk stops at the commit that would bring the sizes of what the
// commits since head changed to opt.MaxBytes: with DefaultPatchThreshold,
// the commits after the one where a mapping's gitCache was cut, whose
// change the latest patch writes, are those. A mapping narrower than the
// whole tree may have been cut earlier; its blobs are then not all listed.
func RecentBlobs(repo *Repo, head plumbing.Hash, opt RecentOpt) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	var total int64
	files := 0
	err := eachFirstParent(repo, head, opt.MaxCommits, func(c *object.Commit, tree *object.Tree) (bool, error) {
		var parentTree *object.Tree
		if c.NumParents() > 0 {
			parent, err := c.Parent(0)
			if err != nil {
				return false, errors.Wrapf(err, "failed to read the parent of %s", c.Hash)
			}
			if parentTree, err = parent.Tree(); err != nil {
				return false, errors.Wrapf(err, "failed to read the tree of %s", parent.Hash)
			}
		}
		changes, err := object.DiffTree(parentTree, tree)
		if err != nil {
			return false, errors.Wrapf(err, "failed to compare %s with its parent", c.Hash)
		}
		if files += len(changes); files >= opt.MaxFiles {
			return true, nil
		}
		var found []plumbing.Hash
		var size int64
		for _, ch := range changes {
			to := ch.To.TreeEntry
			if ch.To.Name == "" || (to.Mode != filemode.Regular && to.Mode != filemode.Executable) || seen[to.Hash] {
				continue
			}
			n, err := repo.blobSize(to.Hash)
			if err != nil {
				return false, err
			}
			seen[to.Hash] = true
			size += n
			if n >= opt.MinSize && n <= opt.MaxSize {
				found = append(found, to.Hash)
			}
		}
		if total+size >= opt.MaxBytes {
			return true, nil
		}
		total += size
		out = append(out, found...)
		return false, nil
	})
	return out, err
}

// eachFirstParent calls fn with head and its first parents, newest
// first, each with its tree, up to max commits or until fn says stop.
func eachFirstParent(repo *Repo, head plumbing.Hash, max int, fn func(c *object.Commit, tree *object.Tree) (stop bool, err error)) error {
	c, err := repo.r.CommitObject(head)
	if err != nil {
		return errors.Wrapf(err, "failed to read commit %s", head)
	}
	for range max {
		tree, err := c.Tree()
		if err != nil {
			return errors.Wrapf(err, "failed to read the tree of %s", c.Hash)
		}
		if stop, err := fn(c, tree); err != nil || stop {
			return err
		}
		if c.NumParents() == 0 {
			return nil
		}
		parent, err := c.Parent(0)
		if err != nil {
			return errors.Wrapf(err, "failed to read the parent of %s", c.Hash)
		}
		c = parent
	}
	return nil
}

// OpenBlob opens blob h's content.
func (r *Repo) OpenBlob(h plumbing.Hash) (io.ReadCloser, error) { return r.blobReader(h) }

// TopBlobs lists the blobs of the files at the top of the trees of
// head's newest first-parent commits (opt.MaxCommits of them) and, in
// head's tree, in its folders down to depth levels below the top (0: the
// top's files only): newest commit first, a commit's shallowest files
// first, in the tree's order, each once and none of skip. These are the files an archive of a
// few files holds (a lock file an install stage imports lives there), and
// an archive of an older commit holds an older version of them. Blobs
// outside opt.MinSize..opt.MaxSize are passed, and a folder seen in a
// newer commit is not read again; the listing stops before the blob that
// would take the sum of the sizes listed past opt.MaxBytes, or once
// opt.MaxFiles files were sized and folders read.
func TopBlobs(repo *Repo, head plumbing.Hash, depth int, skip map[plumbing.Hash]bool, opt RecentOpt) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	var total int64
	work := 0
	headDepth := depth
	err := eachFirstParent(repo, head, opt.MaxCommits, func(_ *object.Commit, tree *object.Tree) (bool, error) {
		// below head only its top: an older version of a file of the top
		// is what an older archive holds, and the folders of older trees
		// cost more to read (a packed tree is a delta) than they give
		depth := headDepth
		headDepth = 0
		var level []*object.Tree
		if !seen[tree.Hash] {
			level = append(level, tree)
			seen[tree.Hash] = true
		}
		for d := 0; d <= depth && len(level) > 0; d++ {
			var next []*object.Tree
			for _, t := range level {
				for _, e := range t.Entries {
					if seen[e.Hash] || skip[e.Hash] {
						continue
					}
					isDir := e.Mode == filemode.Dir
					if isDir && d == depth || !isDir && e.Mode != filemode.Regular && e.Mode != filemode.Executable {
						continue
					}
					// a folder read counts as a file sized: a tree of
					// many folders is work too
					if work >= opt.MaxFiles {
						return true, nil
					}
					work++
					seen[e.Hash] = true
					if isDir {
						sub, err := repo.r.TreeObject(e.Hash)
						if err != nil {
							return false, errors.Wrapf(err, "failed to read tree %s", e.Hash)
						}
						next = append(next, sub)
						continue
					}
					n, err := repo.blobSize(e.Hash)
					if err != nil {
						return false, err
					}
					if n < opt.MinSize || n > opt.MaxSize {
						continue
					}
					if total+n > opt.MaxBytes {
						return true, nil
					}
					total += n
					out = append(out, e.Hash)
				}
			}
			level = next
		}
		return false, nil
	})
	return out, err
}

// BlobSize is the size of blob h, read from its object's header.
func (r *Repo) BlobSize(h plumbing.Hash) (int64, error) { return r.blobSize(h) }
