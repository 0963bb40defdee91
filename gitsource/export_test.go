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
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// exportRepo has modes, symlinks (also one into a filtered-out directory),
// a binary file and nested directories under src/, and files outside it.
func exportRepo(t *testing.T) *testRepo {
	h := newTestRepo(t)
	h.write("src/app/main.go", "package main\n")
	h.writeMode("src/app/run.sh", "#!/bin/sh\necho run\n", 0o755)
	h.write("src/app/logo.bin", "\x00\x01\xff\xfe\x00binary")
	h.symlink("main.go", "src/app/current")
	h.symlink("../lib/skip/c.txt", "src/app/dangling")
	h.write("src/lib/deep/x/y.txt", "deep\n")
	h.write("src/lib/skip/c.txt", "skipped\n")
	h.write("src/top.txt", "not included\n")
	h.write("README", "outside add\n")
	h.commit("init")
	return h
}

func describeEntry(mode fs.FileMode, link string, content []byte) string {
	switch {
	case mode.IsDir():
		return "dir"
	case mode&fs.ModeSymlink != 0:
		return "-> " + link
	}
	return fmt.Sprintf("%o %d %s", mode.Perm(), len(content), digest.FromBytes(content))
}

// archiveOf is `git archive` of the arguments, described per path.
func archiveOf(t *testing.T, dir string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"archive"}, args...)...)
	cmd.Dir = dir
	dt, err := cmd.Output()
	require.NoError(t, err)
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(dt))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // the commit id git archive records
		}
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		mode := fs.FileMode(0o644)
		switch {
		case hdr.Typeflag == tar.TypeDir:
			mode = fs.ModeDir
		case hdr.Typeflag == tar.TypeSymlink:
			mode = fs.ModeSymlink
		case hdr.Mode&0o100 != 0:
			mode = 0o755
		}
		out[strings.TrimSuffix(hdr.Name, "/")] = describeEntry(mode, hdr.Linkname, body)
	}
}

// exported describes the tree under dir and checks every mtime is mtime.
func exported(t *testing.T, dir string, mtime time.Time) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		require.True(t, fi.ModTime().Equal(mtime), "%s mtime %v", p, fi.ModTime())
		if p == dir {
			return nil
		}
		var link string
		var content []byte
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			content, err = os.ReadFile(p)
		}
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = describeEntry(fi.Mode(), link, content)
		return nil
	}))
	return out
}

func TestExportEqualsGitArchive(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	head := plumbing.NewHash(h.git("rev-parse", "HEAD"))
	mtime := time.Unix(1767693600, 0)
	for _, tc := range []struct {
		name             string
		add              string
		include, exclude []string
		archive          []string
	}{
		{name: "whole repository", add: "/", archive: []string{"HEAD"}},
		{name: "add", add: "/src", archive: []string{"HEAD:src"}},
		{name: "filters", add: "/src", include: []string{"app", "lib"}, exclude: []string{"lib/skip"},
			archive: []string{"HEAD:src", "--", "app", "lib", ":(exclude)lib/skip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			spec := ExportSpec{Add: tc.add, Include: tc.include, Exclude: tc.exclude, To: head, Mtime: mtime}
			require.NoError(t, RunExport(spec.Args(filepath.Join(h.dir, ".git"), out)))
			require.Equal(t, archiveOf(t, h.dir, tc.archive...), exported(t, out, mtime))
		})
	}
}

// TestExportPatchWritesWhatInlineWrites: a patch's export holds exactly
// the files and symlinks the inline FileOp would create, with their data.
func TestExportPatchWritesWhatInlineWrites(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.write("src/app/main.go", "package main // changed\n")
	h.remove("src/lib/deep")
	h.symlink("run.sh", "src/app/current")
	h.writeMode("src/new/tool", "#!/bin/sh\n", 0o755)
	h.commit("change")
	p, _ := h.plan(mapping("/src", "/app"), PlanOpt{})
	step, ok := p.LatestPatchStep()
	require.True(t, ok)

	ops, _ := fileOps(t, mustApply(t, p, step, ApplyOpt{}))
	want := map[string]string{}
	for _, a := range ops[0].Actions {
		if mk := a.GetMkfile(); mk != nil {
			want[strings.TrimPrefix(mk.Path, "/app/")] = describeEntry(fs.FileMode(mk.Mode), "", mk.Data)
		}
		if sl := a.GetSymlink(); sl != nil {
			want[strings.TrimPrefix(sl.Newpath, "/app/")] = describeEntry(fs.ModeSymlink, sl.Oldpath, nil)
		}
	}
	out := t.TempDir()
	to, err := p.view.repo.commit(step.To)
	require.NoError(t, err)
	require.NoError(t, Export(h.open(), p.exportSpec(step, to.Committer.When), out))
	got := exported(t, out, to.Committer.When)
	for rel, d := range got {
		if d == "dir" {
			delete(got, rel)
		}
	}
	require.Equal(t, want, got)
	require.Len(t, got, 3, "main.go, current and new/tool")
}

func mustApply(t *testing.T, p *MappingPlan, step PlanStep, opt ApplyOpt) llb.State {
	t.Helper()
	st, err := p.Apply(llb.Scratch(), step, opt)
	require.NoError(t, err)
	return st
}

func TestParseExportArgsRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, _, _, err := ParseExportArgs([]string{"--git-dir", "/g", "--to-commit", "nothex", "--out", "/o"})
	require.ErrorContains(t, err, "usage: git-export")
	spec := ExportSpec{Add: "sub", Include: []string{"a"}, Exclude: []string{"b", "c"},
		From: plumbing.NewHash(strings.Repeat("1", 40)), To: plumbing.NewHash(strings.Repeat("2", 40)), Mtime: time.Unix(42, 0).UTC()}
	got, gitDir, out, err := ParseExportArgs(spec.Args("/g", "/o"))
	require.NoError(t, err)
	require.Equal(t, "/g", gitDir)
	require.Equal(t, "/o", out)
	spec.Add = "/sub"
	require.Equal(t, spec, got, "Args and ParseExportArgs agree")
}
