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
func describe(acts []action) []string {
	var out []string
	for _, a := range acts {
		switch a.kind {
		case actRm:
			out = append(out, "rm "+a.rel)
		case actMkdir:
			out = append(out, "mkdir "+a.rel)
		case actMkfile:
			out = append(out, fmt.Sprintf("mkfile %s %o", a.rel, a.mode))
		case actSymlink:
			out = append(out, "symlink "+a.rel)
		}
	}
	return out
}

func stepActions(t *testing.T, h *testRepo, from, to plumbing.Hash) []action {
	t.Helper()
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
	kind := StepLatestPatch
	if from.IsZero() {
		kind = StepArchive
	}
	acts, err := p.stepActions(PlanStep{Kind: kind, From: from, To: to})
	require.NoError(t, err)
	return acts
}

func TestArchiveActions(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.write("b/c.txt", "c")
	h.writeMode("bin/run", "#!/bin/sh\n", 0o755)
	h.symlink("b/c.txt", "link")
	h.write("a.txt", "a")
	c0 := h.commit("init")
	require.Equal(t, []string{
		"mkdir ", "mkdir b", "mkdir bin",
		"mkfile a.txt 644", "mkfile b/c.txt 644", "mkfile bin/run 755", "symlink link",
	}, describe(stepActions(t, h, plumbing.ZeroHash, c0)))
}

func TestPatchActions(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.write("keep.txt", "k")
	h.write("old/name.txt", "rename me")
	h.write("dir2file/x", "x")
	h.write("file2dir", "f")
	h.write("mode.sh", "echo")
	h.symlink("keep.txt", "link")
	h.write("gone/deep/a", "a")
	h.write("bin.dat", "\x00\x01\x02")
	c0 := h.commit("init")

	h.rename("old/name.txt", "new/name.txt")
	h.remove("dir2file")
	h.write("dir2file", "now a file")
	h.remove("file2dir")
	h.write("file2dir/y", "now a dir")
	h.writeMode("mode.sh", "echo", 0o755)
	h.symlink("mode.sh", "link")
	h.remove("gone")
	h.write("bin.dat", "\x00\xff\x02\x03")
	c1 := h.commit("change everything")

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
	h.write("src/a.go", "package a")
	h.write("src/old.go", "old")
	h.writeMode("run.sh", "#!/bin/sh", 0o755)
	h.symlink("src/a.go", "cur")
	h.write("data.bin", "\x00\x01")
	h.write("x/y/z", "z")
	c0 := h.commit("init")
	h.rename("src/old.go", "lib/new.go")
	h.writeMode("run.sh", "#!/bin/sh", 0o644)
	h.symlink("lib/new.go", "cur")
	h.write("data.bin", "\xff\x00\x01\x02")
	h.remove("x")
	h.write("x", "x is a file now")
	c1 := h.commit("mix")
	h.remove("src")
	h.write("src", "file")
	h.write("lib/more/m.go", "m")
	c2 := h.commit("more")

	dir := t.TempDir()
	p, _ := h.plan(mapping("/", "/app"), PlanOpt{})
	for _, st := range []PlanStep{
		{Kind: StepArchive, To: c0},
		{Kind: StepLatestPatch, From: c0, To: c1},
		{Kind: StepLatestPatch, From: c1, To: c2},
	} {
		acts, err := p.stepActions(st)
		require.NoError(t, err)
		runActions(t, dir, acts)
	}
	require.Equal(t, gitArchive(t, h, c2), snapshot(t, dir))
}

// runActions mimics BuildKit's file backend: rm is RemoveAll, mkdir makes
// parents, mkfile replaces the path, symlink fails on an existing path.
func runActions(t *testing.T, root string, acts []action) {
	t.Helper()
	for _, a := range acts {
		p := filepath.Join(root, a.rel)
		switch a.kind {
		case actRm:
			require.NoError(t, os.RemoveAll(p))
		case actMkdir:
			require.NoError(t, os.MkdirAll(p, a.mode))
		case actMkfile:
			dt, err := a.repo.blobData(a.hash)
			require.NoError(t, err)
			tmp := p + ".tmp"
			require.NoError(t, os.WriteFile(tmp, dt, a.mode))
			require.NoError(t, os.Chmod(tmp, a.mode))
			require.NoError(t, os.Rename(tmp, p), a.rel)
		case actSymlink:
			dt, err := a.repo.blobData(a.hash)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(string(dt), p), a.rel)
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
	cmd.Dir = h.dir
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
