package gitsource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/stretchr/testify/require"
)

func TestCraftedTreesAreRefused(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("d", 255)
	deep := file("f", "x")
	for i := 0; i < 17; i++ {
		deep = dir(long, deep)
	}
	for _, tc := range []struct {
		name   string
		tree   []crafted
		add    string
		path   string
		reason string
		// decodeErr: go-git refuses to decode the tree
		decodeErr string
	}{
		{name: "dotdot", tree: []crafted{dir("..", file("evil", "x"))}, path: "..", reason: `".." is the parent directory`},
		{name: "dotdot below add", add: "src", tree: []crafted{dir("src", dir("a", dir("..", file("evil", "x"))))},
			path: "src/a/..", reason: `".." is the parent directory`},
		{name: "dot", tree: []crafted{dir(".", file("x", "x"))}, path: ".", reason: `"." is the directory itself`},
		{name: "dotgit", tree: []crafted{dir(".git", file("config", "[core]"))}, path: ".git",
			reason: `".git" (in any letter case) would plant a git repository`},
		{name: "dotgit upper case", tree: []crafted{dir("lib", dir(".GiT", file("config", "[core]")))}, path: "lib/.GiT",
			reason: `".git" (in any letter case) would plant a git repository`},
		{name: "slash", tree: []crafted{file("etc/passwd", "root::0:0")}, path: "etc/passwd", reason: `the name contains "/"`},
		// go-git's decoder refuses it first, naming the tree and the commit
		{name: "empty", tree: []crafted{file("", "x")}, decodeErr: "malformed tree: empty filename"},
		{name: "duplicate files", tree: []crafted{file("a", "1"), file("a", "2")}, path: "a",
			reason: "the tree has another entry of the same name"},
		{name: "file and directory", tree: []crafted{link("a", "/etc"), dir("a", file("passwd", "x"))}, path: "a",
			reason: "the tree has another entry of the same name"},
		// above add: which "src" the mapping means would be ambiguous
		{name: "duplicate on the add path", add: "src", tree: []crafted{dir("src", file("a", "1")), dir("src", file("b", "2"))},
			path: "src", reason: "the tree has another entry of the same name"},
		{name: "too long", tree: []crafted{deep}, path: strings.Repeat(long+"/", 16) + long,
			reason: "the path is longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo := craftedRepo(t)
			st := repo.r.Storer
			good := writeTree(t, st, []crafted{dir("src", file("ok", "ok")), file("ok", "ok")})
			parent := writeCommit(t, st, good, tuesday)
			bad := writeCommit(t, st, writeTree(t, st, tc.tree), tuesday.Add(time.Minute), parent)
			m := &dappfile.GitMapping{Add: "/" + tc.add, To: "/app"}

			_, _, err := Plan(repo, bad, m, PlanOpt{})
			if tc.decodeErr != "" {
				require.ErrorContains(t, err, tc.decodeErr)
				require.ErrorContains(t, err, "of commit "+bad.String())
				return
			}
			var te *TreeError
			require.True(t, errors.As(err, &te), "want a TreeError, got %v", err)
			require.Equal(t, bad, te.Commit)
			require.Equal(t, tc.path, te.Path)
			require.Equal(t, tc.reason, te.Reason)
			require.ErrorContains(t, err, "commit "+bad.String()+" has a tree entry ")
			require.ErrorContains(t, err, "rewrite it without the entry")

			// the helper refuses it before writing anything
			out := filepath.Join(t.TempDir(), "out")
			err = Export(repo, ExportSpec{Add: "/" + tc.add, To: bad}, out)
			require.True(t, errors.As(err, &te), "want a TreeError, got %v", err)
			err = Export(repo, ExportSpec{Add: "/" + tc.add, From: parent, To: bad}, out)
			require.True(t, errors.As(err, &te), "want a TreeError, got %v", err)
			entries, _ := os.ReadDir(out)
			require.Empty(t, entries)
		})
	}
}

func TestTreeErrorMessage(t *testing.T) {
	t.Parallel()
	repo := craftedRepo(t)
	st := repo.r.Storer
	c := writeCommit(t, st, writeTree(t, st, []crafted{dir("..", file("evil", "x"))}), tuesday)
	_, _, err := Plan(repo, c, &dappfile.GitMapping{Add: "/", To: "/app"}, PlanOpt{})
	require.EqualError(t, err, "commit "+c.String()+` has a tree entry ".." that cannot be a path: ".." is the parent directory; `+
		"git never writes such an entry (git fsck reports it), so the commit was made by another tool: rewrite it without the entry")
	require.EqualError(t, &TreeError{Commit: c, Submodule: "vendor/lib", Path: "a/\xff/..", Reason: "r"},
		"commit "+c.String()+` of submodule "vendor/lib" has a tree entry "a/\xff/.." that cannot be a path: r; `+
			"git never writes such an entry (git fsck reports it), so the commit was made by another tool: rewrite it without the entry")
}

// Names git allows stay allowed: dots inside names, ".gitignore",
// ".github", names that are not UTF-8, a file and a directory that differ
// in case only.
func TestNameProblem(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "...", ".a", "a..", ".gitignore", ".github", ".git2", "git", "caf\xe9", "A", "-rf", " ", "a b"} {
		require.Empty(t, nameProblem(name), name)
	}
	for name, want := range map[string]string{
		"": "the name is empty", ".": `"." is the directory itself`, "..": `".." is the parent directory`,
		".git": `".git" (in any letter case) would plant a git repository`, ".Git": `".git" (in any letter case) would plant a git repository`,
		"a/b": `the name contains "/"`, "/": `the name contains "/"`, "a\x00b": "the name contains a NUL byte",
	} {
		require.Equal(t, want, nameProblem(name), name)
	}
}

func TestCraftedAllowedNamesPlan(t *testing.T) {
	t.Parallel()
	repo := craftedRepo(t)
	st := repo.r.Storer
	c := writeCommit(t, st, writeTree(t, st, []crafted{
		file(".gitignore", "x"), dir("A", file("x", "1")), dir("a", file("x", "2")), file("caf\xe9", "3"),
		{name: "run", mode: filemode.Executable, data: "#!/bin/sh"},
	}), tuesday)
	p, _, err := Plan(repo, c, &dappfile.GitMapping{Add: "/", To: "/app"}, PlanOpt{})
	require.NoError(t, err)
	files, err := p.view.files(p.view.mustTree(t, c))
	require.NoError(t, err)
	var rels []string
	for _, f := range files {
		rels = append(rels, f.Rel)
	}
	require.Equal(t, []string{".gitignore", "A/x", "a/x", "caf\xe9", "run"}, rels)
}

// The helper never writes through a symlink it wrote, even if the actions
// asked it to (checked trees cannot produce such actions).
func TestExportWriterStaysInOut(t *testing.T) {
	t.Parallel()
	repo := craftedRepo(t)
	st := repo.r.Storer
	outside := t.TempDir()
	target := writeObject(t, st, plumbing.BlobObject, []byte(outside))
	data := writeObject(t, st, plumbing.BlobObject, []byte("pwned"))
	for name, acts := range map[string][]Action{
		"file below a symlink": {
			{Kind: ActMkdir, Rel: ""}, {Kind: ActSymlink, Rel: "a", hash: target, repo: repo},
			{Kind: ActMkfile, Rel: "a/b", Mode: 0o644, hash: data, repo: repo},
		},
		"directory below a symlink": {
			{Kind: ActMkdir, Rel: ""}, {Kind: ActSymlink, Rel: "a", hash: target, repo: repo},
			{Kind: ActMkdir, Rel: "a/b"},
		},
		"file over a symlink": {
			{Kind: ActMkdir, Rel: ""}, {Kind: ActSymlink, Rel: "a", hash: target, repo: repo},
			{Kind: ActMkfile, Rel: "a", Mode: 0o644, hash: data, repo: repo},
		},
		"file up": {
			{Kind: ActMkdir, Rel: ""}, {Kind: ActMkfile, Rel: "../x", Mode: 0o644, hash: data, repo: repo},
		},
	} {
		out := t.TempDir()
		root, err := os.OpenRoot(out)
		require.NoError(t, err)
		w := &exportWriter{root: root, made: map[string]bool{}}
		var werr error
		for _, a := range acts {
			if werr = w.write(a); werr != nil {
				break
			}
		}
		root.Close()
		require.Error(t, werr, name)
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		require.Empty(t, entries, name)
		_, err = os.Stat(filepath.Join(filepath.Dir(out), "x"))
		require.True(t, os.IsNotExist(err), name)
	}
}

// A submodule's tree is checked like the superproject's, and the error
// names the submodule and its commit.
func TestCraftedSubmoduleTreeIsRefused(t *testing.T) {
	t.Parallel()
	lib := libRepo(t)
	app := appWithSubmodule(t, lib, "vendor/lib")
	mod, err := OpenDir(filepath.Join(app.Dir, ".git", "modules", "vendor", "lib"))
	require.NoError(t, err)
	st := mod.r.Storer
	bad := writeCommit(t, st, writeTree(t, st, []crafted{file("ok", "ok"), dir("..", file("evil", "x"))}), tuesday)
	app.Git("update-index", "--cacheinfo", "160000,"+bad.String()+",vendor/lib")
	app.Git("commit", "-q", "-m", "record a crafted submodule commit")

	_, _, err = Plan(app.open(), plumbing.NewHash(app.Git("rev-parse", "HEAD")), &dappfile.GitMapping{Add: "/", To: "/app"}, PlanOpt{})
	var te *TreeError
	require.True(t, errors.As(err, &te), "want a TreeError, got %v", err)
	require.Equal(t, TreeError{Commit: bad, Submodule: "vendor/lib", Path: "..", Reason: `".." is the parent directory`}, *te)
	require.ErrorContains(t, err, "commit "+bad.String()+` of submodule "vendor/lib" has a tree entry ".."`)
}

// A "did you mean" for a missing add offers only names a mapping could take:
// crafted entries (control characters, "..", not UTF-8) are never printed.
func TestMissingAddSuggestsOnlyCheckedNames(t *testing.T) {
	t.Parallel()
	repo := craftedRepo(t)
	st := repo.r.Storer
	for _, tc := range []struct {
		name  string
		entry string
		want  string
	}{
		{"plain name", "confs", " (did you mean confs?)"},
		{"escape sequence", "conf\x1b[2K", ""},
		{"not UTF-8", "conf\xff", ""},
		{"parent", "..", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := writeCommit(t, st, writeTree(t, st, []crafted{file(tc.entry, "x")}), tuesday)
			_, _, err := Plan(repo, c, &dappfile.GitMapping{Add: "/conf", To: "/app"}, PlanOpt{})
			require.EqualError(t, err, `git mapping add "/conf" does not exist at commit `+c.String()+tc.want)
		})
	}
}
