// Package gittest builds git repositories for tests with the git CLI, so
// the planner (gitsource), the LLB emission (llb/gitllb) and the gateway
// adapter (frontend) test against the same kind of history.
package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// Repo is a repository in a temporary directory. Commit dates come from a
// clock that ticks one minute per commit, so hashes are the same on every
// run and period boundaries are under the test's control.
type Repo struct {
	T     testing.TB
	Dir   string
	Clock time.Time
}

// Tuesday is inside the week that starts on Monday 2026-01-05.
var Tuesday = time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)

// New makes an empty repository on branch main, its clock at Tuesday.
func New(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{T: t, Dir: t.TempDir(), Clock: Tuesday}
	r.Git("init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository at the clock's time and returns its
// trimmed output.
func (r *Repo) Git(args ...string) string {
	r.T.Helper()
	return Run(r.T, r.Dir, r.Clock, args...)
}

// Run runs git in dir with author and committer fixed to clock and no
// system or user configuration.
func Run(t testing.TB, dir string, clock time.Time, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	date := clock.Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
	)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// Write writes a 0644 file, creating its directories.
func (r *Repo) Write(rel, content string) { r.WriteMode(rel, content, 0o644) }

// WriteMode writes a file with mode, whatever the umask.
func (r *Repo) WriteMode(rel, content string, mode os.FileMode) {
	r.T.Helper()
	p := filepath.Join(r.Dir, rel)
	require.NoError(r.T, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.T, os.WriteFile(p, []byte(content), mode))
	require.NoError(r.T, os.Chmod(p, mode))
}

// Symlink makes rel a symlink to target, replacing what was there.
func (r *Repo) Symlink(target, rel string) {
	r.T.Helper()
	p := filepath.Join(r.Dir, rel)
	require.NoError(r.T, os.MkdirAll(filepath.Dir(p), 0o755))
	_ = os.Remove(p)
	require.NoError(r.T, os.Symlink(target, p))
}

// Remove deletes rel and everything below it.
func (r *Repo) Remove(rel string) {
	r.T.Helper()
	require.NoError(r.T, os.RemoveAll(filepath.Join(r.Dir, rel)))
}

// Rename moves from to to, creating to's directories.
func (r *Repo) Rename(from, to string) {
	r.T.Helper()
	p := filepath.Join(r.Dir, to)
	require.NoError(r.T, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.T, os.Rename(filepath.Join(r.Dir, from), p))
}

// Commit commits everything and returns the new HEAD.
func (r *Repo) Commit(msg string) plumbing.Hash {
	r.T.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	r.Clock = r.Clock.Add(time.Minute)
	return plumbing.NewHash(r.Git("rev-parse", "HEAD"))
}

// BigHistory makes a repository of files×commits with git fast-import, one
// changed file per commit, and returns its directory.
func BigHistory(t testing.TB, files, commits int) string {
	dir := t.TempDir()
	Run(t, dir, Tuesday, "init", "-q", "-b", "main")
	var stream []byte
	mark := 0
	ts := Tuesday.Unix()
	emit := func(format string, args ...any) { stream = fmt.Appendf(stream, format, args...) }
	for c := 0; c < commits; c++ {
		mark++
		msg := fmt.Sprintf("commit %d", c)
		emit("commit refs/heads/main\nmark :%d\ncommitter t <t@example.com> %d +0000\ndata %d\n%s\n", mark, ts+int64(c*60), len(msg), msg)
		if c > 0 {
			emit("from :%d\n", mark-1)
		}
		if c == 0 {
			for f := 0; f < files; f++ {
				data := fmt.Sprintf("file %d content %s\n", f, string(make([]byte, 200)))
				emit("M 100644 inline src/d%d/f%d.txt\ndata %d\n%s\n", f%50, f, len(data), data)
			}
			continue
		}
		data := fmt.Sprintf("change %d\n", c)
		emit("M 100644 inline src/d%d/f%d.txt\ndata %d\n%s\n", c%50, c%files, len(data), data)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stream)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	Run(t, dir, Tuesday, "reset", "-q", "--hard", "main")
	return dir
}

// NewMixed is a committed repository with modes, symlinks (also one into
// a directory filters leave out), a binary file and nested directories
// under src/, and files outside it: what the inline and the exec-based
// git paths must both get right.
func NewMixed(t testing.TB) *Repo {
	r := New(t)
	r.Write("src/app/main.go", "package main\n")
	r.WriteMode("src/app/run.sh", "#!/bin/sh\necho run\n", 0o755)
	r.Write("src/app/logo.bin", "\x00\x01\xff\xfe\x00binary")
	r.Symlink("main.go", "src/app/current")
	r.Symlink("../lib/skip/c.txt", "src/app/dangling")
	r.Write("src/lib/deep/x/y.txt", "deep\n")
	r.Write("src/lib/skip/c.txt", "skipped\n")
	r.Write("src/top.txt", "not included\n")
	r.Write("README", "outside add\n")
	r.Commit("init")
	return r
}
