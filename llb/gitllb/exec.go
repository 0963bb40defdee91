package gitllb

import (
	"unicode/utf8"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// HelperBinary is where the frontend binary lives in its image, and so in
// any helper state.
const HelperBinary = "/dapp-frontend"

// Mount points of the git-export ExecOp. The root is an empty scratch:
// the helper is a static binary and needs nothing else.
const (
	helperMount = "/dapp-helper"
	gitMount    = "/dapp-git"
	outMount    = "/out"
)

// ExportEnv is what the exec-based path needs to run the git-export helper
// inside the build.
type ExportEnv struct {
	// DotGit holds the repository's .git directory at /.git: the same
	// local source the frontend reads the repository from, so the
	// context is transferred once.
	DotGit llb.State
	// Helper holds the frontend binary at HelperBinary.
	Helper llb.State
	// Platform is the platform the helper runs on (the worker's); nil
	// leaves it to the marshalling default.
	Platform *ocispecs.Platform
}

// exportActions emits the steps through the helper: per mapping step an
// ExecOp writes the added and modified files into a scratch mount, then
// the FileOp removes what the plan removes, creates the directories (as
// inline does, so `to`'s parents keep the image's owner) and copies the
// export into `to`. The layer still holds only the step's files, and the
// copy hashes content, so later stages are keyed by what was written, not
// by the ExecOp that wrote it.
func exportActions(steps []preparedStep, why exportReason, opt ApplyOpt) (*llb.FileAction, error) {
	if opt.Export == nil {
		return nil, why
	}
	env, err := opt.Export()
	if err != nil {
		why.setReason(err)
		return nil, why
	}
	return exportWith(steps, env, opt.Constraints)
}

func exportWith(steps []preparedStep, env ExportEnv, cos []llb.ConstraintsOpt) (*llb.FileAction, error) {
	var fa *llb.FileAction
	var err error
	for _, ps := range steps {
		if fa, err = ps.exportChain(fa, env, cos); err != nil {
			return nil, err
		}
	}
	return fa, nil
}

func (ps preparedStep) exportChain(fa *llb.FileAction, env ExportEnv, cos []llb.ConstraintsOpt) (*llb.FileAction, error) {
	var err error
	writes := false
	for _, a := range ps.acts {
		if a.Kind == gitsource.ActMkfile || a.Kind == gitsource.ActSymlink {
			writes = true
			continue
		}
		if !utf8.ValidString(a.Rel) {
			if a.Kind == gitsource.ActMkdir {
				// the copy creates it, as the helper wrote it (0755)
				continue
			}
			var ok bool
			if fa, ok = rmNotUTF8(fa, ps.e.dest(a.Rel)); !ok {
				return nil, errors.Errorf("cannot remove %q (%s): its name is not valid UTF-8 and a directory above it has a glob character in its name", ps.e.dest(a.Rel), ps.step)
			}
			continue
		}
		if fa, err = ps.e.chain(fa, a); err != nil {
			return nil, err
		}
	}
	if !writes {
		return fa, nil
	}
	out := exportState(env, ps.plan.ExportSpec(ps.step, ps.e.mtime), stepName(ps.plan, ps.step), cos)
	ci := &llb.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true, ChownOpt: ps.e.chown, CreatedTime: &ps.e.mtime}
	src, dst := "/", ps.e.dest("")
	if ps.e.file != "" {
		// the export holds the one file under its name in the repository
		src, dst = "/"+ps.e.file, ps.e.dest(ps.e.file)
	}
	if fa == nil {
		return llb.Copy(out, src, dst, ci), nil
	}
	return fa.Copy(out, src, dst, ci), nil
}

// exportState runs the helper for spec and returns its output mount. The
// command line is a function of the plan only (commits, patterns, mtime),
// and the ExecOp has no network, no secrets and the default (root) user,
// so the same step always gives the same op.
func exportState(env ExportEnv, spec gitsource.ExportSpec, name string, cos []llb.ConstraintsOpt) llb.State {
	args := append([]string{helperMount + HelperBinary, gitsource.ExportCommand}, spec.Args(gitMount+"/.git", outMount)...)
	ros := []llb.RunOption{
		llb.Args(args),
		llb.Dir("/"),
		llb.AddMount(helperMount, env.Helper, llb.Readonly),
		llb.AddMount(gitMount, env.DotGit, llb.Readonly),
		llb.Network(llb.NetModeNone),
	}
	for _, c := range cos {
		ros = append(ros, c)
	}
	// after the caller's constraints, so the helper's own name wins
	ros = append(ros, llb.WithCustomName("git-export: "+name))
	if env.Platform != nil {
		ros = append(ros, llb.Platform(*env.Platform))
	}
	return llb.Scratch().Run(ros...).AddMount(outMount, llb.Scratch())
}
