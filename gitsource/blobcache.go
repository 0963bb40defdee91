package gitsource

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// BlobCache is a directory of blob contents named by their git hash, kept
// by the git-export helper in a cache mount of its own, so a step that
// rewrites files it wrote before (the archive reruns whenever .git
// changes) copies them instead of inflating them from the packs again.
//
// The directory is not trusted: another build on the same builder can
// mount it, and a write can be cut short. An entry is used only when its
// content hashes to its name (git's blob hash, with go-git's
// collision-detecting SHA-1), checked while it is copied; a bad entry is
// removed and the file is written from the repository. Entries are written
// to a temporary file and renamed into place, so a reader never sees half
// of one, and Prune bounds the directory's size. Every access goes
// through an os.Root: a symlink planted in the directory (to the export's
// output, say) is never followed out of it.
type BlobCache struct {
	Dir string
}

// maxCachedBlob is the largest blob the cache takes: a huge file is read
// once per build either way, and must not push everything else out.
const maxCachedBlob = 64 << 20

// path is where the blob h lives, relative to Dir: two levels, as in
// .git/objects, so no directory grows huge.
func (c *BlobCache) path(h plumbing.Hash) string {
	s := h.String()
	return filepath.Join(s[:2], s[2:])
}

func (c *BlobCache) root() (*os.Root, error) { return os.OpenRoot(c.Dir) }

// copyTo writes the cached content of h into f, and reports whether the
// entry was there and valid. On false, f may hold part of a bad entry: the
// caller starts the file over.
func (c *BlobCache) copyTo(f *os.File, h plumbing.Hash) bool {
	root, err := c.root()
	if err != nil {
		return false
	}
	defer root.Close()
	// O_NOFOLLOW: an entry is a regular file, never a link to one
	src, err := root.OpenFile(c.path(h), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxCachedBlob {
		return false
	}
	hs := plumbing.NewHasher(plumbing.BlobObject, st.Size())
	n, err := io.Copy(io.MultiWriter(f, hs), io.LimitReader(src, st.Size()+1))
	if err != nil || n != st.Size() || hs.Sum() != h {
		// tampered or cut short: never use it again
		root.Remove(c.path(h))
		return false
	}
	// the mtime is the entry's last use, which Prune evicts by
	now := time.Now()
	_ = root.Chtimes(c.path(h), now, now)
	return true
}

// put stores the content of h from the start of f (a file just written
// with it), through a temporary file renamed into place. Failing to cache
// never fails the export.
func (c *BlobCache) put(f *os.File, h plumbing.Hash, size int64) {
	if size > maxCachedBlob {
		return
	}
	root, err := c.root()
	if err != nil {
		return
	}
	defer root.Close()
	dir := filepath.Dir(c.path(h))
	if err := root.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return
	}
	name := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	tmp, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			root.Remove(name)
		}
	}()
	hs := plumbing.NewHasher(plumbing.BlobObject, size)
	n, err := io.Copy(io.MultiWriter(tmp, hs), io.NewSectionReader(f, 0, size+1))
	if err != nil || n != size || hs.Sum() != h || tmp.Close() != nil {
		return
	}
	ok = root.Rename(name, c.path(h)) == nil
}

// Prune removes the least recently used entries (and temporary files
// older than an hour, left by a helper that died) until the cache holds at
// most limit bytes.
func (c *BlobCache) Prune(limit int64) error {
	type entry struct {
		path  string
		size  int64
		mtime time.Time
	}
	root, err := c.root()
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return errors.Wrap(err, "failed to prune the git-export cache")
	}
	defer root.Close()
	var all []entry
	var total int64
	stale := time.Now().Add(-time.Hour)
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if !info.Mode().IsRegular() || (path.Base(p)[0] == '.' && info.ModTime().Before(stale)) {
			root.Remove(p)
			return nil
		}
		all = append(all, entry{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return errors.Wrap(err, "failed to prune the git-export cache")
	}
	if total <= limit {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mtime.Before(all[j].mtime) })
	for _, e := range all {
		if total <= limit {
			break
		}
		if root.Remove(e.path) == nil {
			total -= e.size
		}
	}
	return nil
}
