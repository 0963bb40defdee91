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
	_, _, _, err := parseExportArgs([]string{"--git-dir", "/g", "--to-commit", "nothex", "--out", "/o"})
	require.ErrorContains(t, err, "usage: git-export")
	spec := gitsource.ExportSpec{Add: "sub", Include: []string{"a"}, Exclude: []string{"b", "c"},
		From: plumbing.NewHash(strings.Repeat("1", 40)), To: plumbing.NewHash(strings.Repeat("2", 40)), Mtime: time.Unix(42, 0).UTC()}
	got, gitDir, out, err := parseExportArgs(spec.Args("/g", "/o"))
	require.NoError(t, err)
	require.Equal(t, "/g", gitDir)
	require.Equal(t, "/o", out)
	spec.Add = "/sub"
	require.Equal(t, spec, got, "Args and parseExportArgs agree")

	spec.File = true
	got, _, _, err = parseExportArgs(spec.Args("/g", "/o"))
	require.NoError(t, err)
	spec.Add = "//sub"
	require.Equal(t, spec, got, "a file mapping's flag travels too")
}
