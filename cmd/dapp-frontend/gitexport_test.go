package main

import (
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

func TestParseExportArgsRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, _, _, _, _, err := parseExportArgs([]string{"--git-dir", "/g", "--to-commit", "nothex", "--out", "/o"})
	require.ErrorContains(t, err, "usage: git-export")
	spec := gitsource.ExportSpec{Add: "sub", Include: []string{"a"}, Exclude: []string{"b", "c"},
		From: plumbing.NewHash(strings.Repeat("1", 40)), To: plumbing.NewHash(strings.Repeat("2", 40)), Mtime: time.Unix(42, 0).UTC()}
	got, gitDir, out, _, rest, err := parseExportArgs(spec.Args("/g", "/o"))
	require.NoError(t, err)
	require.Equal(t, "/g", gitDir)
	require.Equal(t, "/o", out)
	require.Empty(t, rest)
	spec.Add = "/sub"
	require.Equal(t, spec, got, "Args and parseExportArgs agree")

	spec.File = true
	got, _, _, _, _, err = parseExportArgs(spec.Args("/g", "/o"))
	require.NoError(t, err)
	spec.Add = "//sub"
	require.Equal(t, spec, got, "a file mapping's flag travels too")
}

// TestParseExportJobs: the steps of one run, separated by "--", come back
// one by one, each with its own output; a pattern "--" is a value, not a
// separator; a stray argument or a dangling "--" is refused.
func TestParseExportJobs(t *testing.T) {
	t.Parallel()
	a := gitsource.ExportSpec{Add: "/a", Include: []string{"--"}, To: plumbing.NewHash(strings.Repeat("2", 40)), Mtime: time.Unix(1, 0).UTC()}
	b := gitsource.ExportSpec{Add: "/b", Exclude: []string{"x"}, From: plumbing.NewHash(strings.Repeat("1", 40)), To: plumbing.NewHash(strings.Repeat("3", 40)), Mtime: time.Unix(2, 0).UTC()}
	args := append(append(a.Args("/g", "/out0"), "--blob-cache", "/c", "--"), b.Args("/g", "/out1")...)
	jobs, err := parseExportJobs(args)
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	a.Add, b.Add = "//a", "//b"
	require.Equal(t, exportJob{spec: a, gitDir: "/g", out: "/out0", blobCache: "/c"}, jobs[0])
	require.Equal(t, exportJob{spec: b, gitDir: "/g", out: "/out1"}, jobs[1])

	for name, bad := range map[string][]string{
		"dangling separator": append(a.Args("/g", "/o"), "--"),
		"stray argument":     append(a.Args("/g", "/o"), "stray"),
		"empty step":         append(append(a.Args("/g", "/o"), "--", "--"), a.Args("/g", "/p")...),
	} {
		_, err := parseExportJobs(bad)
		require.Error(t, err, name)
	}
}
