package gitllb

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	"github.com/stretchr/testify/require"
)

// latin1Repo has a file and a directory named in Latin-1 (legal in git,
// common in old repositories) and a symlink whose target is Latin-1.
func latin1Repo(t *testing.T) *testRepo {
	h := newTestRepo(t)
	h.Write("caf\xe9.txt", "coffee\n")
	h.Write("r\xe9sum\xe9/cv.txt", "cv\n")
	h.Write("plain.txt", "plain\n")
	h.Commit("init")
	return h
}

// A step with a name that is not UTF-8 takes the git-export path however
// small it is, and no such string reaches the definition (protobuf would
// refuse to marshal it).
func TestNotUTF8NamesGoThroughExport(t *testing.T) {
	t.Parallel()
	h := latin1Repo(t)
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv})
	d := decode(t, st)
	require.Len(t, d.execs, 1, "the helper writes the files")
	require.Len(t, d.files, 1)
	for _, a := range d.files[0].Actions {
		require.Nil(t, a.GetMkfile(), "no file data inline")
		if mk := a.GetMkdir(); mk != nil {
			require.True(t, utf8.ValidString(mk.Path), mk.Path)
		}
	}
	require.Equal(t, "/app", d.files[0].Actions[len(d.files[0].Actions)-1].GetCopy().Dest)
}

func TestNotUTF8SymlinkTargetGoesThroughExport(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a.txt", "a\n")
	h.Symlink("caf\xe9", "link")
	h.Commit("init")
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	d := decode(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv}))
	require.Len(t, d.execs, 1)

	_, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{})
	var nu *NotUTF8Error
	require.True(t, errors.As(err, &nu), "%v", err)
	require.True(t, nu.Target)
	require.Equal(t, "/app/link", nu.Path)
}

func TestNotUTF8WithoutHelper(t *testing.T) {
	t.Parallel()
	h := latin1Repo(t)
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	_, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{})
	require.EqualError(t, err, `git path "/app/r\xe9sum\xe9" (gitArchive@`+p.ArchiveStep().To.String()[:12]+`) has a name that is not valid UTF-8, `+
		"which the build definition cannot carry: only the git-export helper can write it")
	_, err = Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{Export: func() (ExportEnv, error) {
		return ExportEnv{}, errors.New("no helper here: set git-helper-image")
	}})
	require.ErrorContains(t, err, "only the git-export helper can write it: no helper here: set git-helper-image")
}

// Removing such a file is an Rm by a pattern that matches its bytes.
func TestNotUTF8Removal(t *testing.T) {
	t.Parallel()
	h := latin1Repo(t)
	h.Remove("caf\xe9.txt")
	h.Remove("r\xe9sum\xe9")
	h.Write("plain.txt", "changed\n")
	h.Commit("remove")
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	d := decode(t, mustApply(t, p, step, ApplyOpt{Export: testExportEnv}))
	var rms []string
	for _, a := range d.files[0].Actions {
		if rm := a.GetRm(); rm != nil {
			rms = append(rms, rm.Path)
			require.True(t, rm.AllowWildcard)
			require.True(t, rm.AllowNotFound)
		}
	}
	require.Equal(t, []string{"/app/caf[\uFFFD].txt", "/app/r[\uFFFD]sum[\uFFFD]"}, rms)
}

func TestGlobEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":        "plain",
		"caf\xe9":      "caf[\uFFFD]",
		"a*b?[c]\\":    `a\*b\?\[c\]\\`,
		"\xff\xfe":     "[\uFFFD][\uFFFD]",
		"ok\u00e9\xe9": "ok\u00e9[\uFFFD]",
	} {
		require.Equal(t, want, globEscape(in), "%q", in)
	}
	_, ok := rmNotUTF8(nil, "/app/a*b/caf\xe9")
	require.False(t, ok, "a glob character above the first invalid name")
	_, ok = rmNotUTF8(nil, "/app/caf\xe9/a*b")
	require.True(t, ok)
	// what BuildKit's wildcard removal matches with (filepath.Match)
	for name, want := range map[string]bool{"caf\xe9.txt": true, "cafe.txt": false, "caf\xe9\xe9.txt": false, "caf.txt": false} {
		got, err := filepath.Match(globEscape("caf\xe9.txt"), name)
		require.NoError(t, err)
		require.Equal(t, want, got, "%q", name)
	}
	require.False(t, strings.Contains(globEscape("caf\xe9"), "\xe9"))
}
