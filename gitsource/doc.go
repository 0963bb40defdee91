// Package gitsource plans the layers of a Dappfile's git mappings: pure
// history work over go-git, with no BuildKit package. Where the pieces live:
//
//	repo.go       Repo: OpenFS over any billy filesystem (the frontend
//	              hands in its gateway reader over the context's .git),
//	              OpenDir on disk; blobs and commits
//	plan.go       Plan cuts a mapping's history into dapp's steps
//	              (gitArchive, patches before stages, gitCache,
//	              gitLatestPatch; see Plan for the rule); StepsAt groups
//	              the steps of several mappings by chain point
//	steps.go      MappingStep; StepActions and StepTime: what a step
//	              writes and with which mtime
//	actions.go    Action: one file operation below the mapping's `to`
//	              (rm, mkdir, mkfile, symlink), from the archive of a
//	              tree or the diff of two
//	tree.go       the mapping's view of a commit: add, filters, diffs
//	filter.go     includePaths / excludePaths / stageDependencies globs
//	submodule.go  gitlinks expanded from .git/modules/<name>, bounded;
//	              missing ones are left out with a warning
//	accumulate.go the size of accumulated changes (gitCache cuts)
//	overlap.go    WithAutoExcludes: an outer mapping excludes inner ones
//	dirty.go      Repo.Uncommitted: what the build will not see
//	export.go     ExportSpec and Export: the git-export helper's work,
//	              writing a step's files to a directory
//	blobcache.go  BlobCache: the helper's cache of blob contents by hash,
//	              checked on every use, written atomically, pruned by size
//
// The LLB side is elsewhere: llb/gitllb turns steps into FileOps (inline
// data, or an ExecOp running the frontend binary's hidden git-export
// subcommand for points too big to inline), pins and fetches remote
// mappings (url:) with llb.Git and copies mappings; the stage code in llb
// decides where each step goes. cmd/dapp-frontend parses the git-export
// subcommand's flags (ExportSpec.Args writes them) and calls Export;
// frontend reads the context through the gateway.
//
// A submodule (gitlink) inside a local mapping is expanded below the
// shared action computation, so the inline and git-export paths agree: its
// tree at the commit the superproject records is read from the
// submodule's repository in .git/modules/<name> (name from .gitmodules of
// that commit; nested submodules recursively, bounded depth), and its files
// are the mapping's files at their full paths, filtered, diffed and
// measured like the others. A submodule whose repository or commit is
// missing is left out with a warning to run `git submodule update --init`.
package gitsource
