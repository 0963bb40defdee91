// Package gitsource puts the sources of a Dappfile's git mappings into LLB.
//
// Local mappings (no url:) read the build context's own repository with
// go-git. The frontend runs in a container and sees the context only
// through the gateway, so it solves llb.Local("context") limited to .git
// and opens the repository with OpenFS(NewReaderFS(ctx, ref, ".git")).
// Plan then cuts the mapping's history into dapp's layers (see Plan for
// the rule) and MappingPlan.Apply (or ApplySteps with StepsAt, for all
// mappings of an image at once) turns each step into one FileOp on the
// stage chain: the files are read from git blobs and written with Mkdir,
// Mkfile, Symlink and Rm, so a step's layer holds exactly the changed
// files and its LLB digest depends only on their content.
// Repo.Uncommitted lists what the build will not see (for a warning).
//
// Remote mappings are pinned with ResolveRemote, fetched with RemoteSource
// (llb.Git) and copied with CopyMapping. In dev mode a local mapping copies
// the working tree (the frontend's build context) instead of the committed state.
//
// A point with more than ApplyOpt.MaxInlineBytes of file data (the
// definition travels in one gRPC message, 16 MiB) is emitted through the
// exec-based path instead: an ExecOp runs the frontend binary's hidden
// git-export subcommand (Export, over the same actions) on the context's
// .git, and the FileOp copies its output in; see ApplyOpt.Export.
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
