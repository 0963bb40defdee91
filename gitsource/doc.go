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
// the working tree from DevSource instead of the committed state.
//
// A point with more than ApplyOpt.MaxInlineBytes of file data (the
// definition travels in one gRPC message, 16 MiB) is emitted through the
// exec-based path instead: an ExecOp runs the frontend binary's hidden
// git-export subcommand (Export, over the same actions) on the context's
// .git, and the FileOp copies its output in; see ApplyOpt.Export.
// Submodules of local mappings are left out with a warning.
package gitsource
