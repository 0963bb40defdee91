package gitsource

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
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
	// sizes keeps the blob sizes read so far: the plan, the choice
	// between inline and export and the export's narrowing each ask for
	// the same blobs, and a loose blob's size costs inflating up to 32 KiB
	// of it (Go's inflater fills its window before it returns a byte).
	sizes map[plumbing.Hash]int64
	// loose is the set of loose objects (isLoose).
	loose map[plumbing.Hash]struct{}
	// statuses keeps the work trees' status (Uncommitted).
	statuses map[billy.Filesystem]git.Status
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
	if n, ok := r.sizes[h]; ok {
		return n, nil
	}
	n, err := r.readBlobSize(h)
	if err != nil {
		return 0, err
	}
	if r.sizes == nil {
		r.sizes = map[plumbing.Hash]int64{}
	}
	r.sizes[h] = n
	return n, nil
}

func (r *Repo) readBlobSize(h plumbing.Hash) (int64, error) {
	if n, ok := r.looseBlobSize(h); ok {
		return n, nil
	}
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

// LooseHeaderPrefix is how much of a loose object's file blobSize reads
// and inflates: its header ("blob <size>" and a NUL) comes first in the
// zlib stream, after at most a dynamic block's code tables. The
// frontend's read-ahead reads that much of each loose blob whose size the
// plan needs.
const LooseHeaderPrefix = 1 << 10

// looseBlobSize reads a loose blob's size from the start of its file.
// go-git inflates the object through a reader that fills its 32 KiB
// window before it returns a byte, which made the sizes of a never-packed
// repository's blobs most of a conversion's time; inflating a short
// prefix stops at the prefix. ok is false when h is not a loose blob or
// its header does not come out of the prefix: go-git then reads it.
func (r *Repo) looseBlobSize(h plumbing.Hash) (int64, bool) {
	if k, ok := r.fs.(KnownSizes); ok {
		if n, ok := k.LooseBlobSize(h); ok {
			return n, true
		}
	}
	if !r.isLoose(h) {
		return 0, false
	}
	f, err := r.fs.Open(looseName(h))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	prefix := make([]byte, LooseHeaderPrefix)
	n, err := io.ReadFull(f, prefix)
	if err != nil && err != io.ErrUnexpectedEOF {
		return 0, false
	}
	return LooseBlobSize(prefix[:n])
}

// KnownSizes is a repository filesystem that already knows the sizes of
// some loose blobs (the frontend's, from the read-ahead done inside the
// build, which inflated their headers there): blobSize takes them from it
// instead of inflating each header again.
type KnownSizes interface {
	LooseBlobSize(h plumbing.Hash) (int64, bool)
}

// LooseObjectHash is the hash a loose object's file is named by (its path
// relative to the repository's .git), ok false for any other path.
func LooseObjectHash(rel string) (plumbing.Hash, bool) {
	dir, base := path.Split(rel)
	if len(dir) != len("objects/xx/") || !strings.HasPrefix(dir, "objects/") || len(base) != 38 {
		return plumbing.ZeroHash, false
	}
	return ParseHash(dir[len("objects/"):len("objects/")+2] + base)
}

// looseName is the path of h's loose object file in the repository's
// filesystem.
func looseName(h plumbing.Hash) string {
	hex := h.String()
	return path.Join("objects", hex[:2], hex[2:])
}

// LooseBlobSize reads the size of a loose blob from prefix, the start of
// its file (LooseHeaderPrefix bytes, or the whole file when shorter).
// ok is false when prefix does not hold a blob's header.
func LooseBlobSize(prefix []byte) (int64, bool) {
	zr, err := zlib.NewReader(bytes.NewReader(prefix))
	if err != nil {
		return 0, false
	}
	// the header is at most "blob " and 20 digits and a NUL; a short
	// prefix ends the stream early (io.ErrUnexpectedEOF) after what it
	// held came out
	var head [32]byte
	got, _ := io.ReadAtLeast(zr, head[:], len(head))
	hdr, _, found := bytes.Cut(head[:got], []byte{0})
	if !found {
		return 0, false
	}
	size, ok := bytes.CutPrefix(hdr, []byte("blob "))
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(size), 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// maxLooseListed bounds the loose objects isLoose keeps; past it, every
// size is left to go-git.
const maxLooseListed = 1 << 20

// isLoose reports whether h is a loose object. It lists the loose
// objects once, as go-git does when it first looks one up (the folders
// it lists are what the frontend's reader keeps), instead of trying to
// open each object's file: through the gateway a missing file is a round
// trip, and most objects of a packed repository are missing there.
func (r *Repo) isLoose(h plumbing.Hash) bool {
	if r.loose == nil {
		r.loose = r.listLoose()
	}
	_, ok := r.loose[h]
	return ok
}

func (r *Repo) listLoose() map[plumbing.Hash]struct{} {
	out := map[plumbing.Hash]struct{}{}
	dirs, err := r.fs.ReadDir("objects")
	if err != nil {
		return out
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 || !isHex(d.Name()) {
			continue
		}
		files, err := r.fs.ReadDir(path.Join("objects", d.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			h, ok := ParseHash(d.Name() + f.Name())
			if !ok {
				continue
			}
			if len(out) == maxLooseListed {
				return map[plumbing.Hash]struct{}{}
			}
			out[h] = struct{}{}
		}
	}
	return out
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
