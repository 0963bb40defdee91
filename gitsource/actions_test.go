package gitsource

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// describe renders actions one per line for readable assertions.
func describe(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a.Kind {
		case ActRm:
			out = append(out, "rm "+a.Rel)
		case ActMkdir:
			out = append(out, "mkdir "+a.Rel)
		case ActMkfile:
			out = append(out, fmt.Sprintf("mkfile %s %o", a.Rel, a.Mode))
		case ActSymlink:
			out = append(out, "symlink "+a.Rel)
		}
	}
	return out
}

func stepActions(t *testing.T, h *testRepo, from, to plumbing.Hash) []Action {
	t.Helper()
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
	kind := StepLatestPatch
	if from.IsZero() {
		kind = StepArchive
	}
	acts, err := p.StepActions(PlanStep{Kind: kind, From: from, To: to})
	require.NoError(t, err)
	return acts
}

func TestArchiveActions(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("b/c.txt", "c")
	h.WriteMode("bin/run", "#!/bin/sh\n", 0o755)
	h.Symlink("b/c.txt", "link")
	h.Write("a.txt", "a")
	c0 := h.Commit("init")
	require.Equal(t, []string{
		"mkdir ", "mkdir b", "mkdir bin",
		"mkfile a.txt 644", "mkfile b/c.txt 644", "mkfile bin/run 755", "symlink link",
	}, describe(stepActions(t, h, plumbing.ZeroHash, c0)))
}

func TestPatchActions(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("keep.txt", "k")
	h.Write("old/name.txt", "rename me")
	h.Write("dir2file/x", "x")
	h.Write("file2dir", "f")
	h.Write("mode.sh", "echo")
	h.Symlink("keep.txt", "link")
	h.Write("gone/deep/a", "a")
	h.Write("bin.dat", "\x00\x01\x02")
	c0 := h.Commit("init")

	h.Rename("old/name.txt", "new/name.txt")
	h.Remove("dir2file")
	h.Write("dir2file", "now a file")
	h.Remove("file2dir")
	h.Write("file2dir/y", "now a dir")
	h.WriteMode("mode.sh", "echo", 0o755)
	h.Symlink("mode.sh", "link")
	h.Remove("gone")
	h.Write("bin.dat", "\x00\xff\x02\x03")
	c1 := h.Commit("change everything")

	require.Equal(t, []string{
		"rm dir2file", "rm file2dir", "rm gone", "rm link", "rm old",
		"mkdir ", "mkdir file2dir", "mkdir new",
		"mkfile bin.dat 644", "mkfile dir2file 644", "mkfile file2dir/y 644",
		"symlink link", "mkfile mode.sh 755", "mkfile new/name.txt 644",
	}, describe(stepActions(t, h, c0, c1)))
}

// TestStepsRebuildGitArchive applies archive and patches to a directory the
// way BuildKit's file ops do and compares the result with `git archive` of
// the last commit: deletions, renames, modes, symlink re-points, binary
// edits and type changes must all come out exact (R5).
func TestStepsRebuildGitArchive(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("src/a.go", "package a")
	h.Write("src/old.go", "old")
	h.WriteMode("run.sh", "#!/bin/sh", 0o755)
	h.Symlink("src/a.go", "cur")
	h.Write("data.bin", "\x00\x01")
	h.Write("x/y/z", "z")
	c0 := h.Commit("init")
	h.Rename("src/old.go", "lib/new.go")
	h.WriteMode("run.sh", "#!/bin/sh", 0o644)
	h.Symlink("lib/new.go", "cur")
	h.Write("data.bin", "\xff\x00\x01\x02")
	h.Remove("x")
	h.Write("x", "x is a file now")
	c1 := h.Commit("mix")
	h.Remove("src")
	h.Write("src", "file")
	h.Write("lib/more/m.go", "m")
	c2 := h.Commit("more")

	dir := t.TempDir()
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
	for _, st := range []PlanStep{
		{Kind: StepArchive, To: c0},
		{Kind: StepLatestPatch, From: c0, To: c1},
		{Kind: StepLatestPatch, From: c1, To: c2},
	} {
		acts, err := p.StepActions(st)
		require.NoError(t, err)
		runActions(t, dir, acts)
	}
	require.Equal(t, gitArchive(t, h, c2), snapshot(t, dir))
}

// runActions mimics BuildKit's file backend: rm is RemoveAll, mkdir makes
// parents, mkfile replaces the path, symlink fails on an existing path.
func runActions(t *testing.T, root string, acts []Action) {
	t.Helper()
	for _, a := range acts {
		p := filepath.Join(root, a.Rel)
		switch a.Kind {
		case ActRm:
			require.NoError(t, os.RemoveAll(p))
		case ActMkdir:
			require.NoError(t, os.MkdirAll(p, a.Mode))
		case ActMkfile:
			dt, err := a.repo.blobData(a.hash)
			require.NoError(t, err)
			tmp := p + ".tmp"
			require.NoError(t, os.WriteFile(tmp, dt, a.Mode))
			require.NoError(t, os.Chmod(tmp, a.Mode))
			require.NoError(t, os.Rename(tmp, p), a.Rel)
		case ActSymlink:
			dt, err := a.repo.blobData(a.hash)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(string(dt), p), a.Rel)
		}
	}
}

// snapshot lists a directory as "path mode content" lines.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			out = append(out, rel+"/")
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			out = append(out, rel+" -> "+target)
		default:
			dt, err := os.ReadFile(p)
			require.NoError(t, err)
			out = append(out, fmt.Sprintf("%s %o %q", rel, fi.Mode().Perm(), dt))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

// gitArchive lists `git archive` of c in snapshot's format, with the
// 0644/0755 modes a mapping uses.
func gitArchive(t *testing.T, h *testRepo, c plumbing.Hash) []string {
	t.Helper()
	cmd := exec.Command("git", "archive", c.String())
	cmd.Dir = h.Dir
	dt, err := cmd.Output()
	require.NoError(t, err)
	var out []string
	tr := tar.NewReader(bytes.NewReader(dt))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		name := strings.TrimSuffix(hdr.Name, "/")
		switch hdr.Typeflag {
		case tar.TypeDir:
			out = append(out, name+"/")
		case tar.TypeSymlink:
			out = append(out, name+" -> "+hdr.Linkname)
		case tar.TypeReg:
			body, err := io.ReadAll(tr)
			require.NoError(t, err)
			mode := 0o644
			if hdr.Mode&0o100 != 0 {
				mode = 0o755
			}
			out = append(out, fmt.Sprintf("%s %o %q", name, mode, body))
		}
	}
	sort.Strings(out)
	return out
}
