// Package gitllb emits the git layers gitsource plans as LLB; the stage
// code in llb decides where each goes.
//
//	apply.go   Apply / ApplySteps: the steps of one chain point (one or
//	           several mappings) as a single FileOp, so one layer; the
//	           files are read from git blobs and written with Mkdir,
//	           Mkfile, Symlink and Rm, so the layer holds exactly the
//	           changed files and its digest depends only on their content.
//	           ChownOpt maps owner/group (artifact imports use it too).
//	exec.go    a point with more than ApplyOpt.MaxInlineBytes of file data
//	           (the definition travels in one gRPC message, 16 MiB) runs
//	           the frontend binary's hidden git-export subcommand
//	           (gitsource.Export) in an ExecOp on the context's .git and
//	           the FileOp copies its output in; see ApplyOpt.Export. An
//	           ExportBatch makes that one ExecOp per build, with one
//	           output mount per point.
//	remote.go  remote mappings (url:): ResolveRemote pins the ref to a
//	           commit before the build, RemoteSource fetches it with
//	           llb.Git, CopyMapping copies add → to with the filters (also
//	           the working tree in dev mode).
package gitllb
