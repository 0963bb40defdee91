package gitsource

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// narrowed copies files of h's .git into a new directory with a HEAD of
// its own, as the build's narrowed .git has them, and opens it.
func narrowed(t *testing.T, h *testRepo, files []string) *Repo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".git")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "objects", "pack"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "HEAD"), []byte(NarrowHead), 0o644))
	for _, f := range files {
		dt, err := os.ReadFile(filepath.Join(h.Dir, ".git", f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), dt, 0o444))
	}
	r, err := OpenDir(dir)
	require.NoError(t, err)
	return r
}

// TestExportFilesHoldWhatExportReads: an export run on a copy of .git
// holding only ExportFiles writes what it writes on the whole .git, for
// archives and patches, packed and loose objects; and the files of a step
// do not change when commits land on top.
func TestExportFilesHoldWhatExportReads(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.Git("gc", "--quiet")
	h.Write("src/app/main.go", "package main // changed\n")
	h.Symlink("run.sh", "src/app/again")
	h.WriteMode("src/new/tool", "#!/bin/sh\n", 0o755)
	h.Remove("src/lib/deep")
	h.Commit("loose change")
	r := h.open()
	first := plumbing.NewHash(h.Git("rev-list", "--max-parents=0", "HEAD"))
	head := plumbing.NewHash(h.Git("rev-parse", "HEAD"))
	mtime := time.Unix(1767693600, 0)
	specs := map[string]ExportSpec{
		"packed archive":         {Add: "/", To: first, Mtime: mtime},
		"loose archive":          {Add: "/src", To: head, Mtime: mtime},
		"patch packed to loose":  {Add: "/src", From: first, To: head, Mtime: mtime},
		"filtered archive":       {Add: "/src", Include: []string{"app"}, Exclude: []string{"app/logo.bin"}, To: head, Mtime: mtime},
		"file mapping":           {Add: "/src/app/run.sh", File: true, To: first, Mtime: mtime},
		"archive with a symlink": {Add: "/src/app", To: first, Mtime: mtime},
	}
	files := map[string][]string{}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			fs, ok, err := r.ExportFiles(spec)
			require.NoError(t, err)
			require.True(t, ok)
			files[name] = fs
			want, got := t.TempDir(), t.TempDir()
			require.NoError(t, Export(r, spec, want))
			require.NoError(t, Export(narrowed(t, h, fs), spec, got))
			require.Equal(t, exported(t, want, mtime), exported(t, got, mtime))
		})
	}
	fs := files["packed archive"]
	require.Len(t, fs, 2, "one pack and its index: %v", fs)
	require.Equal(t, ".idx", filepath.Ext(fs[0]))

	// a commit on top leaves every step's files as they were; packing the
	// loose objects into a pack of their own (git repack without -a)
	// leaves those of the steps that read only packed objects
	h.Write("src/app/main.go", "package main // again\n")
	h.Commit("on top")
	requireFiles := func(names ...string) {
		t.Helper()
		r := h.open()
		for _, name := range names {
			fs, ok, err := r.ExportFiles(specs[name])
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, files[name], fs, name)
		}
	}
	var all []string
	for name := range specs {
		all = append(all, name)
	}
	requireFiles(all...)
	h.Git("repack", "--quiet", "-d")
	requireFiles("packed archive", "file mapping", "archive with a symlink")
}

// A submodule in the view keeps its objects in .git/modules: the export
// needs the whole .git.
func TestExportFilesSubmoduleNeedsWholeGit(t *testing.T) {
	t.Parallel()
	sub := gittest.New(t)
	sub.Write("lib.txt", "lib\n")
	sub.Commit("lib")
	h := newTestRepo(t)
	h.Write("app.txt", "app\n")
	h.Git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet", sub.Dir, "vendor/lib")
	head := h.Commit("with submodule")
	r := h.open()
	_, ok, err := r.ExportFiles(ExportSpec{Add: "/", To: head})
	require.NoError(t, err)
	require.False(t, ok)
	fs, ok, err := r.ExportFiles(ExportSpec{Add: "/", Exclude: []string{"vendor"}, To: head})
	require.NoError(t, err)
	require.True(t, ok, "a view that leaves the submodule out reads only the superproject")
	require.NotEmpty(t, fs)
}

// Alternates put objects outside .git: no narrowing.
func TestExportFilesAlternates(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a.txt", "a\n")
	head := h.Commit("a")
	require.NoError(t, os.WriteFile(filepath.Join(h.Dir, ".git", "objects", "info", "alternates"), []byte("/elsewhere\n"), 0o644))
	_, ok, err := h.open().ExportFiles(ExportSpec{Add: "/", To: head})
	require.NoError(t, err)
	require.False(t, ok)
}

func TestIsPackName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"pack-42cf2e499bd3d9f75a9985b7a2c1242740c745fa":                         true,
		"pack-42cf2e499bd3d9f75a9985b7a2c1242740c745fa42cf2e499bd3d9f75a9985b7": true,
		"pack-42CF2E499BD3D9F75A9985B7A2C1242740C745FA":                         false,
		"pack-*":        false,
		"pack-../x":     false,
		"pack-42cf2e49": false,
		"42cf2e499bd3d9f75a9985b7a2c1242740c745fa": false,
	} {
		require.Equal(t, want, isPackName(name), name)
	}
}

// More pack files than MaxExportPacks: no narrowing, and no index is read.
func TestExportFilesTooManyPacks(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a.txt", "a\n")
	head := h.Commit("a")
	pack := filepath.Join(h.Dir, ".git", "objects", "pack")
	require.NoError(t, os.MkdirAll(pack, 0o755))
	for i := range MaxExportPacks + 1 {
		base := filepath.Join(pack, fmt.Sprintf("pack-%040x", i))
		require.NoError(t, os.WriteFile(base+".idx", []byte("not an index"), 0o644))
		require.NoError(t, os.WriteFile(base+".pack", nil, 0o644))
	}
	_, ok, err := h.open().ExportFiles(ExportSpec{Add: "/", To: head})
	require.NoError(t, err)
	require.False(t, ok)
}
