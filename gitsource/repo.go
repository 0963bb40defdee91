package gitsource

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/pkg/errors"
)

// ErrNotRepository is returned when the build context holds no readable git
// repository; local git mappings (no url:) need one.
var ErrNotRepository = errors.New("the build context is not a git repository")

// notRepoHint tells the user how to get a repository into the context.
const notRepoHint = "local git mappings (no url:) read the build context's own .git directory: " +
	"run the build from the repository's top directory, make sure .git is a directory " +
	"(worktrees and submodules keep it elsewhere), or give the mapping a url:"

// Repo is a read-only git repository.
type Repo struct {
	r *git.Repository
	// fs is the .git directory: submodules' repositories live in its
	// modules/ directory.
	fs billy.Filesystem

	packIndexCache
}

// OpenFS opens the repository whose .git directory is dotgit. The
// frontend passes its gateway reader over the solved context, rooted at ".git".
func OpenFS(dotgit billy.Filesystem) (*Repo, error) {
	fi, err := dotgit.Stat("HEAD")
	if err != nil || fi.IsDir() {
		return nil, errors.Wrap(ErrNotRepository, notRepoHint)
	}
	st := filesystem.NewStorageWithOptions(dotgit, cache.NewObjectLRUDefault(), filesystem.Options{
		// The repository does not change during a build: list packs and loose
		// objects once and keep packs open, instead of a stat (a gateway
		// round trip) per object.
		ExclusiveAccess: true,
		KeepDescriptors: true,
	})
	r, err := git.Open(st, nil)
	if err != nil {
		return nil, errors.Wrapf(ErrNotRepository, "%v: %s", err, notRepoHint)
	}
	return &Repo{r: r, fs: dotgit}, nil
}

// OpenDir opens the repository at dir: a work tree with a .git directory or
// a bare/.git directory itself. Tests and the debug command use it.
func OpenDir(dir string) (*Repo, error) {
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotgit); err != nil || !fi.IsDir() {
		dotgit = dir
	}
	return OpenFS(osfs.New(dotgit))
}

// OpenContext opens the repository of a local build context as the
// frontend finds it in the context BuildKit transfers: only a `.git`
// directory at the top counts (a symlink named .git is transferred as a
// link and never followed), and symlinks inside it resolve within it.
// The `llb` debug command uses it, so it reads what a build would.
func OpenContext(dir string) (*Repo, error) {
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Lstat(dotgit); err != nil || !fi.IsDir() {
		return nil, errors.Wrap(ErrNotRepository, notRepoHint)
	}
	return OpenFS(osfs.New(dotgit, osfs.WithBoundOS()))
}

// shallow returns the commits whose parents a shallow clone does not have.
func (r *Repo) shallow() (map[plumbing.Hash]bool, error) {
	hs, err := r.r.Storer.Shallow()
	if err != nil {
		return nil, errors.Wrap(err, "failed to read .git/shallow")
	}
	out := make(map[plumbing.Hash]bool, len(hs))
	for _, h := range hs {
		out[h] = true
	}
	return out, nil
}

// Head returns the commit HEAD points at.
func (r *Repo) Head() (plumbing.Hash, error) {
	ref, err := r.r.Head()
	if err != nil {
		return plumbing.ZeroHash, errors.Wrap(err, "failed to resolve HEAD")
	}
	return ref.Hash(), nil
}

// ResolveRevision resolves a branch, tag or commit to a commit hash.
func (r *Repo) ResolveRevision(rev string) (plumbing.Hash, error) {
	h, err := r.r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, errors.Wrapf(err, "failed to resolve %q", rev)
	}
	return *h, nil
}

// HeadCommit is HEAD's hash and committer date (werf's `.Commit`).
func (r *Repo) HeadCommit() (string, time.Time, error) {
	h, err := r.Head()
	if err != nil {
		return "", time.Time{}, err
	}
	c, err := r.commit(h)
	if err != nil {
		return "", time.Time{}, err
	}
	return h.String(), c.Committer.When, nil
}

func (r *Repo) commit(h plumbing.Hash) (*object.Commit, error) {
	c, err := r.r.CommitObject(h)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read commit %s", h)
	}
	return c, nil
}

// blobSize returns the size of a blob without inflating it when the
// storage can tell.
func (r *Repo) blobSize(h plumbing.Hash) (int64, error) {
	type sizer interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}
	if s, ok := r.r.Storer.(sizer); ok {
		if n, err := s.EncodedObjectSize(h); err == nil {
			return n, nil
		}
	}
	b, err := r.r.BlobObject(h)
	if err != nil {
		return 0, errors.Wrapf(err, "failed to read blob %s", h)
	}
	return b.Size, nil
}

func (r *Repo) blobData(h plumbing.Hash) ([]byte, error) {
	rd, err := r.blobReader(h)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	dt, err := io.ReadAll(rd)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read blob %s", h)
	}
	return dt, nil
}

func (r *Repo) blobReader(h plumbing.Hash) (io.ReadCloser, error) {
	b, err := r.r.BlobObject(h)
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read blob %s", h)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, errors.Wrapf(err, "failed to read blob %s", h)
	}
	return rd, nil
}
