package main

import (
	"flag"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkg/errors"
)

type listFlag []string

func (l *listFlag) String() string     { return "" }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseExportArgs parses the arguments gitsource.ExportSpec.Args writes.
func parseExportArgs(args []string) (spec gitsource.ExportSpec, gitDir, out string, err error) {
	fl := flag.NewFlagSet(gitsource.ExportCommand, flag.ContinueOnError)
	fl.StringVar(&gitDir, "git-dir", "", "the repository's .git directory")
	to := fl.String("to-commit", "", "the commit whose files are written")
	from := fl.String("from-commit", "", "for a patch: write only what changed since this commit")
	fl.StringVar(&spec.Add, "add", "/", "the mapping's add directory")
	fl.BoolVar(&spec.File, "file", false, "add names a single file")
	fl.Var((*listFlag)(&spec.Include), "include", "includePaths pattern (repeatable)")
	fl.Var((*listFlag)(&spec.Exclude), "exclude", "excludePaths pattern (repeatable)")
	fl.StringVar(&out, "out", "", "the directory to write into")
	mtime := fl.Int64("mtime", 0, "mtime of everything written, in Unix seconds")
	if err = fl.Parse(args); err != nil {
		return spec, "", "", err
	}
	if gitDir == "" || out == "" || !plumbing.IsHash(*to) || (*from != "" && !plumbing.IsHash(*from)) {
		return spec, "", "", errors.New("usage: git-export --git-dir DIR --to-commit SHA [--from-commit SHA] [--add PATH [--file]] [--include P]... [--exclude P]... --out DIR --mtime UNIX")
	}
	spec.To = plumbing.NewHash(*to)
	if *from != "" {
		spec.From = plumbing.NewHash(*from)
	}
	spec.Mtime = time.Unix(*mtime, 0).UTC()
	return spec, gitDir, out, nil
}

// runGitExport is the hidden git-export subcommand: it opens the
// repository and exports one step.
func runGitExport(args []string) error {
	spec, gitDir, out, err := parseExportArgs(args)
	if err != nil {
		return err
	}
	repo, err := gitsource.OpenDir(gitDir)
	if err != nil {
		return err
	}
	return gitsource.Export(repo, spec, out)
}
