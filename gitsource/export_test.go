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

	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// exportRepo is gittest.NewMixed: modes, symlinks, a binary file, nested
// directories under src/ and files outside it.
func exportRepo(t *testing.T) *testRepo { return &testRepo{gittest.NewMixed(t)} }

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
	head := plumbing.NewHash(h.Git("rev-parse", "HEAD"))
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
			require.NoError(t, Export(h.open(), spec, out))
			require.Equal(t, archiveOf(t, h.Dir, tc.archive...), exported(t, out, mtime))
		})
	}
}

// TestExportPatchWritesWhatInlineWrites: a patch's export holds exactly
// the files and symlinks of the step's actions (which the inline FileOp
// creates), with their data.
func TestExportPatchWritesWhatInlineWrites(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.Write("src/app/main.go", "package main // changed\n")
	h.Remove("src/lib/deep")
	h.Symlink("run.sh", "src/app/current")
	h.WriteMode("src/new/tool", "#!/bin/sh\n", 0o755)
	h.Commit("change")
	p, _ := h.plan(mapping("/src", "/app"), PlanOpt{})
	step, ok := p.LatestPatchStep()
	require.True(t, ok)

	want := stepWrites(t, p, step)
	out := t.TempDir()
	mtime, err := p.StepTime(step)
	require.NoError(t, err)
	require.NoError(t, Export(h.open(), p.ExportSpec(step, mtime), out))
	got := exported(t, out, mtime)
	for rel, d := range got {
		if d == "dir" {
			delete(got, rel)
		}
	}
	require.Equal(t, want, got)
	require.Len(t, got, 3, "main.go, current and new/tool")
}

// stepWrites describes the files and symlinks the step's actions write,
// by path below `to`: what the inline FileOp creates.
func stepWrites(t *testing.T, p *MappingPlan, step PlanStep) map[string]string {
	t.Helper()
	acts, err := p.StepActions(step)
	require.NoError(t, err)
	out := map[string]string{}
	for _, a := range acts {
		if a.Kind != ActMkfile && a.Kind != ActSymlink {
			continue
		}
		dt, err := a.Data()
		require.NoError(t, err)
		if a.Kind == ActSymlink {
			out[a.Rel] = describeEntry(fs.ModeSymlink, string(dt), nil)
		} else {
			out[a.Rel] = describeEntry(a.Mode, "", dt)
		}
	}
	return out
}

// Names that are not UTF-8 (legal in git) are written with their real
// bytes, as `git archive` has them; so are symlink targets.
func TestExportNotUTF8Names(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("caf\xe9.txt", "coffee\n")
	h.Write("r\xe9sum\xe9/cv.txt", "cv\n")
	h.Symlink("caf\xe9.txt", "link")
	head := h.Commit("init")
	mtime := time.Unix(1767693600, 0)
	out := t.TempDir()
	require.NoError(t, Export(h.open(), ExportSpec{Add: "/", To: head, Mtime: mtime}, out))
	got := exported(t, out, mtime)
	require.Equal(t, archiveOf(t, h.Dir, "HEAD"), got)
	require.Contains(t, got, "caf\xe9.txt")
	require.Equal(t, "-> caf\xe9.txt", got["link"])
}
