package gitsource

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// ExportCommand is the hidden subcommand of the frontend binary that writes
// a step's files inside the build, for steps too big to travel inline.
const ExportCommand = "git-export"

// ExportSpec is one mapping step as the exec-based path sees it: the same
// view (add, include, exclude) and commits the plan used, so the helper
// computes the very actions gitllb.Apply would have inlined.
type ExportSpec struct {
	Add string
	// File says that Add names a single file (see view).
	File             bool
	Include, Exclude []string
	// From is zero for an archive.
	From, To plumbing.Hash
	// Mtime is given to every written file and directory, so the output
	// (and the copy that hashes it) does not depend on when the step ran.
	Mtime time.Time
}

// ExportSpec describes step of p for the helper; mtime is StepTime(step).
func (p *MappingPlan) ExportSpec(step PlanStep, mtime time.Time) ExportSpec {
	s := ExportSpec{Add: p.view.addPath(), File: p.view.file != "", Include: p.Mapping.IncludePaths, Exclude: p.Mapping.ExcludePaths, To: step.To, Mtime: mtime}
	if step.Kind != StepArchive {
		s.From = step.From
	}
	return s
}

// Args is the command line of the subcommand for s (after ExportCommand);
// the subcommand in cmd/dapp-frontend parses it back, and its test checks
// that the two agree.
func (s ExportSpec) Args(gitDir, out string) []string {
	args := []string{"--git-dir", gitDir, "--to-commit", s.To.String()}
	if !s.From.IsZero() {
		args = append(args, "--from-commit", s.From.String())
	}
	args = append(args, "--add", "/"+s.Add)
	if s.File {
		args = append(args, "--file")
	}
	for _, p := range s.Include {
		args = append(args, "--include", p)
	}
	for _, p := range s.Exclude {
		args = append(args, "--exclude", p)
	}
	return append(args, "--out", out, "--mtime", strconv.FormatInt(s.Mtime.Unix(), 10))
}

// Export writes the files the step adds or modifies under out, at their
// paths relative to the mapping's `to`: regular files with their git mode
// (0644 or 0755), symlinks, and the directories that hold them (0755).
// Removals are not written: the FileOp that copies out performs them.
//
// Every write is confined to out: paths come from checked trees (see
// checkTree), writes go through an os.Root (which refuses to leave out,
// also through a symlink), and a file is written only into a directory
// this export created itself, never through a symlink it wrote.
func Export(repo *Repo, spec ExportSpec, out string) error {
	return ExportCached(repo, spec, out, nil)
}

// ExportCached is Export taking file contents from cache (nil: none) when
// it holds them and storing there what it reads from the repository.
func ExportCached(repo *Repo, spec ExportSpec, out string, cache *BlobCache) error {
	v, err := newView(repo, spec.Add, spec.Include, spec.Exclude, spec.File)
	if err != nil {
		return err
	}
	acts, err := v.actionsBetween(spec.From, spec.To)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, DirMode); err != nil {
		return err
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	defer root.Close()
	w := &exportWriter{root: root, mtime: spec.Mtime, made: map[string]bool{}, cache: cache}
	for _, a := range acts {
		if err := w.write(a); err != nil {
			return err
		}
	}
	// directories last, innermost first: writing into one sets its mtime
	for i := len(w.dirs) - 1; i >= 0; i-- {
		if err := root.Chtimes(w.dirs[i], spec.Mtime, spec.Mtime); err != nil {
			return err
		}
	}
	return nil
}

// exportWriter writes actions below root.
type exportWriter struct {
	root  *os.Root
	mtime time.Time
	// made holds the directories this export created ("." is out), in
	// the order of dirs.
	made  map[string]bool
	dirs  []string
	cache *BlobCache
}

func (w *exportWriter) write(a Action) error {
	p := "."
	if a.Rel != "" {
		p = filepath.FromSlash(a.Rel)
	}
	if a.Kind != ActMkdir && a.Kind != ActRm && !w.made[filepath.Dir(p)] {
		return errors.Errorf("git-export: refusing to write %q: its directory was not created by this export", a.Rel)
	}
	switch a.Kind {
	case ActMkdir:
		if p != "." {
			if !w.made[filepath.Dir(p)] {
				return errors.Errorf("git-export: refusing to create %q: its parent was not created by this export", a.Rel)
			}
			// Mkdir, not MkdirAll: an existing entry (a symlink above all)
			// is an error, never something to write through
			if err := w.root.Mkdir(p, DirMode); err != nil {
				return err
			}
		}
		if err := w.root.Chmod(p, DirMode); err != nil {
			return err
		}
		w.made[p] = true
		w.dirs = append(w.dirs, p)
		return nil
	case ActSymlink:
		target, err := a.repo.blobData(a.hash)
		if err != nil {
			return err
		}
		if err := w.root.Symlink(string(target), p); err != nil {
			return err
		}
		return w.lchtimes(p)
	case ActMkfile:
		if err := w.writeBlob(p, a); err != nil {
			return err
		}
		return w.root.Chtimes(p, w.mtime, w.mtime)
	}
	return nil // removals belong to the FileOp
}

// lchtimes sets a symlink's own times, relative to its directory's
// descriptor (os.Root has no Lchtimes).
func (w *exportWriter) lchtimes(p string) error {
	d, err := w.root.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	ts := []unix.Timespec{unix.NsecToTimespec(w.mtime.UnixNano()), unix.NsecToTimespec(w.mtime.UnixNano())}
	return unix.UtimesNanoAt(int(d.Fd()), filepath.Base(p), ts, unix.AT_SYMLINK_NOFOLLOW)
}

// writeBlob streams the blob: files of a big step must not all sit in
// memory. It comes from the cache when that holds a valid copy.
func (w *exportWriter) writeBlob(p string, a Action) error {
	// O_EXCL: never write through an existing entry (e.g. a symlink)
	f, err := w.root.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, a.Mode)
	if err != nil {
		return err
	}
	if err := w.fill(f, a); err != nil {
		f.Close()
		return errors.Wrapf(err, "failed to write %s", a.Rel)
	}
	if err := f.Close(); err != nil {
		return err
	}
	// the umask must not change git's mode
	return w.root.Chmod(p, a.Mode)
}

func (w *exportWriter) fill(f *os.File, a Action) error {
	if w.cache != nil {
		if w.cache.copyTo(f, a.hash) {
			return nil
		}
		// start over: a bad entry may have left part of itself
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	rd, err := a.repo.blobReader(a.hash)
	if err != nil {
		return err
	}
	defer rd.Close()
	n, err := io.Copy(f, rd)
	if err != nil {
		return err
	}
	if w.cache != nil {
		w.cache.put(f, a.hash, n)
	}
	return nil
}
