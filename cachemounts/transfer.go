package cachemounts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Saving and seeding cache mounts. BuildKit exports no cache mount with
// --cache-to (moby/buildkit#1474), so a build on an empty CI runner starts
// with empty package caches. The frontend binary copies them instead, run
// inside the build by two hidden subcommands:
//
//   - SaveCommand copies the content of the build's cache mounts (mounted
//     read-only) into an output directory, one directory per cache (DirName
//     of its id); the directory becomes an image the user pushes;
//   - SeedCommand copies such saved content into the cache mounts of the
//     next build, only into a cache that is empty.
//
// Both never follow a symlink (they are copied as links), write through an
// os.Root so nothing lands outside the destination, keep modes, owners and
// modification times (apt's list files are revalidated by their mtime),
// skip devices, pipes and sockets, and leave out a cache whose content is
// bigger than what the size limit still allows.
const (
	SaveCommand = "cache-save"
	SeedCommand = "cache-seed"
)

// MaxTransferEntries bounds the files, directories and links of one
// transfer (all caches together), whatever the size limit.
const MaxTransferEntries = 4 << 20

// DirName is the directory that holds a cache's content in a saved-caches
// image: the id escaped into one path element ("dapp%2Fauto%2Fapt%2Farchives"),
// so that one id being a prefix of another cannot nest them.
func DirName(id string) string { return url.PathEscape(id) }

// TransferMount is one cache of a transfer: Dir is its DirName in the saved
// content, Path where the cache is mounted in the step.
type TransferMount struct {
	Dir  string
	Path string
	// NotSaved are names at the cache's root a save leaves out
	// (Mount.NotSaved).
	NotSaved []string
}

// TransferOpt is what a SaveCommand or SeedCommand run does.
type TransferOpt struct {
	Mounts []TransferMount
	// Saved is the saved content's root: the output of a save, the input of
	// a seed.
	Saved string
	// MaxSize bounds the bytes of regular files copied by the run.
	MaxSize int64
	// Log receives one line per cache saying what happened to it.
	Log io.Writer
}

// Args are the helper's arguments after the subcommand name.
func (o TransferOpt) Args() []string {
	args := []string{"--saved", o.Saved, "--max-size", fmt.Sprint(o.MaxSize)}
	for _, m := range o.Mounts {
		args = append(args, "--mount", m.Dir+"="+m.Path)
		for _, n := range m.NotSaved {
			args = append(args, "--not-saved", m.Dir+"="+n)
		}
	}
	return args
}

// Save copies every mount's content into Saved/<Dir>. An empty cache is
// left out.
func Save(o TransferOpt) error { return o.each(saveOne) }

// each runs one for every mount, with the saved content's root and the
// cache's, within one budget.
func (o TransferOpt) each(one func(saved, cache *os.Root, m TransferMount, budget *transferBudget, log io.Writer) error) error {
	saved, err := os.OpenRoot(o.Saved)
	if err != nil {
		return err
	}
	defer saved.Close()
	budget := &transferBudget{bytes: o.MaxSize, entries: MaxTransferEntries}
	for _, m := range o.Mounts {
		if err := checkDirName(m.Dir); err != nil {
			return err
		}
		cache, err := os.OpenRoot(m.Path)
		if err != nil {
			return err
		}
		err = one(saved, cache, m, budget, o.Log)
		cache.Close()
		if err != nil {
			return fmt.Errorf("cache %s: %w", idOf(m.Dir), err)
		}
	}
	return nil
}

func saveOne(out, src *os.Root, m TransferMount, budget *transferBudget, log io.Writer) error {
	dir := m.Dir
	skip := func(p string) bool { return slices.Contains(m.NotSaved, p) }
	size, n, err := measure(src, skip)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(log, "cache %s: empty, not saved\n", idOf(dir))
		return nil
	}
	if !budget.take(size, n) {
		fmt.Fprintf(log, "cache %s: %d bytes in %d entries, over what the size limit leaves (%d bytes): not saved\n", idOf(dir), size, n, budget.bytes)
		return nil
	}
	if err := out.Mkdir(dir, 0o700); err != nil {
		return err
	}
	dst, err := out.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := copyTree(src, dst, skip); err != nil {
		return err
	}
	fmt.Fprintf(log, "cache %s: saved %d bytes in %d entries\n", idOf(dir), size, n)
	return nil
}

// Seed copies Saved/<Dir> into each mount that is empty. A cache that
// already holds files is kept as it is: it is at least as fresh as what
// was saved.
func Seed(o TransferOpt) error { return o.each(seedOne) }

func seedOne(saved, dst *os.Root, m TransferMount, budget *transferBudget, log io.Writer) error {
	dir := m.Dir
	fi, err := saved.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(log, "cache %s: nothing saved\n", idOf(dir))
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("saved content %s is not a directory", dir)
	}
	if entries, err := fs.ReadDir(dst.FS(), "."); err != nil || len(entries) > 0 {
		if err == nil {
			fmt.Fprintf(log, "cache %s: already holds files, kept\n", idOf(dir))
		}
		return err
	}
	src, err := saved.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer src.Close()
	size, n, err := measure(src, nil)
	if err != nil {
		return err
	}
	if !budget.take(size, n) {
		fmt.Fprintf(log, "cache %s: %d bytes in %d entries saved, over what the size limit leaves (%d bytes): not seeded\n", idOf(dir), size, n, budget.bytes)
		return nil
	}
	if err := copyTree(src, dst, nil); err != nil {
		return err
	}
	fmt.Fprintf(log, "cache %s: seeded %d bytes in %d entries\n", idOf(dir), size, n)
	return nil
}

// checkDirName refuses a mount directory that is not one plain path
// element: the frontend writes DirName values, anything else is a bug or
// a hand-made command line.
func checkDirName(dir string) error {
	if dir == "" || dir == "." || dir == ".." || strings.ContainsAny(dir, "/\x00") {
		return fmt.Errorf("cache directory %q is not one path element", dir)
	}
	return nil
}

// idOf is the cache id a DirName stands for, for messages.
func idOf(dir string) string {
	if id, err := url.PathUnescape(dir); err == nil {
		return id
	}
	return dir
}

type transferBudget struct{ bytes, entries int64 }

func (b *transferBudget) take(size, n int64) bool {
	if size > b.bytes || n > b.entries {
		return false
	}
	b.bytes -= size
	b.entries -= n
	return true
}

// measure adds up the regular files' sizes and counts the entries below
// root that copyTree copies (root itself not counted), without following
// symlinks. skip (may be nil) leaves out the paths it names, as copyTree
// does.
func measure(root *os.Root, skip func(string) bool) (size, n int64, err error) {
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if skip != nil && skip(p) {
			return skipEntry(d)
		}
		if t := d.Type(); !t.IsDir() && !t.IsRegular() && t&fs.ModeSymlink == 0 {
			return nil // not copied
		}
		n++
		if n > MaxTransferEntries {
			// the caller's budget refuses it; stop walking a huge tree
			return fs.SkipAll
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
		}
		return nil
	})
	return size, n, err
}

// copyTree copies src's content into the empty directory dst, leaving out
// the paths skip (may be nil) names. Directory modes, owners and times are
// set after their content is written, so writing a file neither fails on a
// read-only directory nor moves its mtime.
func copyTree(src, dst *os.Root, skip func(string) bool) error {
	var dirs []string
	err := fs.WalkDir(src.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(p) {
			return skipEntry(d)
		}
		fi, err := src.Lstat(p)
		if err != nil {
			return err
		}
		switch mode := fi.Mode(); {
		case mode.IsDir():
			if p != "." {
				if err := dst.Mkdir(p, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, p)
			return nil
		case mode.IsRegular():
			if err := copyFile(src, dst, p, fi); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			target, err := src.Readlink(p)
			if err != nil {
				return err
			}
			if err := dst.Symlink(target, p); err != nil {
				return err
			}
			return lchown(dst, p, fi)
		default:
			// devices, pipes, sockets: no package cache needs them
			return nil
		}
		return setMeta(dst, p, fi)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		fi, err := src.Lstat(dirs[i])
		if err != nil {
			return err
		}
		if err := setMeta(dst, dirs[i], fi); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst *os.Root, p string, fi fs.FileInfo) error {
	in, err := src.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dst.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// a file that grew since it was measured copies no more than measured
	if _, err := io.Copy(out, io.LimitReader(in, fi.Size())); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// setMeta gives p the owner, mode and times of fi (not for links).
func setMeta(dst *os.Root, p string, fi fs.FileInfo) error {
	if err := lchown(dst, p, fi); err != nil {
		return err
	}
	if err := dst.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return dst.Chtimes(p, fi.ModTime(), fi.ModTime())
}

// skipEntry leaves out a walked entry (and a directory's content).
func skipEntry(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}
