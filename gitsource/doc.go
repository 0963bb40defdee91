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
// Limits: inline file data travels in the build definition (one gRPC
// message, 16 MiB), so Apply refuses a step with more than
// ApplyOpt.MaxInlineBytes; an exec-based emitter of the same actions can
// replace the inline one later. Submodules of local mappings are left out
// with a warning.
package gitsource
