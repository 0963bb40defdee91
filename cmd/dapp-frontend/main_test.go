package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGitExportSubcommand runs the hidden subcommand the way the ExecOp
// does; gitsource's tests compare its output with `git archive`.
func TestGitExportSubcommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	run("add", "-A")
	run("commit", "-qm", "init")
	out := t.TempDir()
	require.NoError(t, runSubcommand("git-export", []string{"--git-dir", filepath.Join(dir, ".git"),
		"--to-commit", run("rev-parse", "HEAD"), "--add", "/sub", "--out", out, "--mtime", "1000"}))
	fi, err := os.Stat(filepath.Join(out, "run.sh"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	require.Equal(t, int64(1000), fi.ModTime().Unix())
	require.Error(t, runSubcommand("git-export", []string{"--out", out}), "missing flags are an error")
}
