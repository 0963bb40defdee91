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

// exportJob is one step of a git-export run.
type exportJob struct {
	spec        gitsource.ExportSpec
	gitDir, out string
	// blobCache is the gitsource.BlobCache directory, "" for none.
	blobCache string
}

// blobCacheLimit bounds the helper's blob cache; past it the least
// recently used contents go.
const blobCacheLimit = 512 << 20

// maxExportJobs bounds the steps of one run (the frontend writes at most
// 32 per ExecOp).
const maxExportJobs = 256

// parseExportJobs parses the command line the frontend writes: the
// arguments of gitsource.ExportSpec.Args of each step, separated by "--".
func parseExportJobs(args []string) ([]exportJob, error) {
	var jobs []exportJob
	for {
		spec, gitDir, out, cache, rest, err := parseExportArgs(args)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, exportJob{spec: spec, gitDir: gitDir, out: out, blobCache: cache})
		if len(jobs) > maxExportJobs {
			return nil, errors.Errorf("git-export: more than %d steps in one run", maxExportJobs)
		}
		if len(rest) == 0 {
			return jobs, nil
		}
		args = rest
	}
}

// parseExportArgs parses the arguments gitsource.ExportSpec.Args writes for
// one step, and returns what follows the "--" after them.
func parseExportArgs(args []string) (spec gitsource.ExportSpec, gitDir, out, cache string, rest []string, err error) {
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
	fl.StringVar(&cache, "blob-cache", "", "a directory of blob contents by hash, reused when valid (see gitsource.BlobCache)")
	if err = fl.Parse(args); err != nil {
		return spec, "", "", "", nil, err
	}
	rest = fl.Args()
	// flag stops at the "--" and drops it; anything else left over is
	// not a flag, and a trailing "--" announces a step that is missing
	if n := len(args) - len(rest); len(rest) > 0 && (n == 0 || args[n-1] != "--") {
		return spec, "", "", "", nil, errors.Errorf("git-export: unexpected argument %q, expected a flag or \"--\" before the next step", rest[0])
	}
	if len(rest) == 0 && len(args) > 0 && args[len(args)-1] == "--" {
		return spec, "", "", "", nil, errors.New("git-export: no step after the final \"--\"")
	}
	if gitDir == "" || out == "" || !plumbing.IsHash(*to) || (*from != "" && !plumbing.IsHash(*from)) {
		return spec, "", "", "", nil, errors.New("usage: git-export --git-dir DIR --to-commit SHA [--from-commit SHA] [--add PATH [--file]] [--include P]... [--exclude P]... --out DIR --mtime UNIX [--blob-cache DIR] [-- STEP...]")
	}
	spec.To = plumbing.NewHash(*to)
	if *from != "" {
		spec.From = plumbing.NewHash(*from)
	}
	spec.Mtime = time.Unix(*mtime, 0).UTC()
	return spec, gitDir, out, cache, rest, nil
}

// runGitExport is the hidden git-export subcommand: it opens the
// repository once and exports each step into its own directory.
func runGitExport(args []string) error {
	jobs, err := parseExportJobs(args)
	if err != nil {
		return err
	}
	var repo *gitsource.Repo
	opened := ""
	for _, j := range jobs {
		if repo == nil || j.gitDir != opened {
			if repo, err = gitsource.OpenDir(j.gitDir); err != nil {
				return err
			}
			opened = j.gitDir
		}
		var cache *gitsource.BlobCache
		if j.blobCache != "" {
			cache = &gitsource.BlobCache{Dir: j.blobCache}
		}
		if err := gitsource.ExportCached(repo, j.spec, j.out, cache); err != nil {
			return errors.Wrapf(err, "git-export into %s", j.out)
		}
	}
	pruned := map[string]bool{}
	for _, j := range jobs {
		if j.blobCache != "" && !pruned[j.blobCache] {
			pruned[j.blobCache] = true
			if err := (&gitsource.BlobCache{Dir: j.blobCache}).Prune(blobCacheLimit); err != nil {
				return err
			}
		}
	}
	return nil
}
