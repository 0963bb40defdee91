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
func Export(repo *Repo, spec ExportSpec, out string) error {
	v, err := newView(repo, spec.Add, spec.Include, spec.Exclude, spec.File)
	if err != nil {
		return err
	}
	acts, err := v.actionsBetween(spec.From, spec.To)
	if err != nil {
		return err
	}
	var dirs []string
	for _, a := range acts {
		if a.Kind == ActMkdir {
			dirs = append(dirs, filepath.Join(out, filepath.FromSlash(a.Rel)))
		}
		if err := writeAction(out, a, spec.Mtime); err != nil {
			return err
		}
	}
	// directories last, innermost first: writing into one sets its mtime
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chtimes(dirs[i], spec.Mtime, spec.Mtime); err != nil {
			return err
		}
	}
	return nil
}

func writeAction(out string, a Action, mtime time.Time) error {
	p := filepath.Join(out, filepath.FromSlash(a.Rel))
	switch a.Kind {
	case ActMkdir:
		if err := os.MkdirAll(p, DirMode); err != nil {
			return err
		}
		return os.Chmod(p, DirMode)
	case ActSymlink:
		target, err := a.repo.blobData(a.hash)
		if err != nil {
			return err
		}
		if err := os.Symlink(string(target), p); err != nil {
			return err
		}
		ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	case ActMkfile:
		if err := writeBlob(p, a); err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	}
	return nil // removals belong to the FileOp
}

// writeBlob streams the blob: files of a big step must not all sit in memory.
func writeBlob(p string, a Action) error {
	rd, err := a.repo.blobReader(a.hash)
	if err != nil {
		return err
	}
	defer rd.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, a.Mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return errors.Wrapf(err, "failed to write %s", a.Rel)
	}
	if err := f.Close(); err != nil {
		return err
	}
	// the umask must not change git's mode
	return os.Chmod(p, a.Mode)
}
