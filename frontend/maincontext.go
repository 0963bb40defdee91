package frontend

import (
	"bytes"
	"context"
	"sync"

	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pkg/errors"
)

// dockerignoreName is the main context's ignore file, which dockerui reads
// when the Dappfile has none of its own (<Dappfile>.dockerignore).
const dockerignoreName = ".dockerignore"

// mainContext makes the states of the main context the frontend reads
// (the templates, `.Files.Get`, the work trees of the uncommitted-change
// checks, dev mode's mappings), narrowed and with the user's ignore
// patterns, as dockerui's MainContext does. When .git is transferred
// anyway, .dockerignore comes in the same transfer (dotGitOpts) and is
// read from there: dockerui would transfer it on its own, one more solve
// of the daemon's on every build, so the states are then made here.
type mainContext struct {
	bc     *dockerui.Client
	ignore *contextIgnore
}

func newMainContext(bc *dockerui.Client, src *dockerui.Source, git *contextGit) *mainContext {
	return &mainContext{bc: bc, ignore: &contextIgnore{bc: bc, src: src, git: git}}
}

// state is the main context with opts, which win over the ignore patterns
// (a narrowing passes its own excludes).
func (m *mainContext) state(ctx context.Context, opts ...bkllb.LocalOption) (*bkllb.State, error) {
	patterns, own, err := m.ignore.get(ctx)
	if err != nil {
		return nil, err
	}
	if !own {
		return m.bc.MainContext(ctx, opts...)
	}
	// dockerui's MainContext's state for the client's directory, with
	// the patterns read here
	st := bkllb.Local(dockerui.DefaultLocalNameContext, append([]bkllb.LocalOption{
		bkllb.SessionID(contextSessionID(m.bc.BuildOpts())),
		bkllb.ExcludePatterns(patterns),
		bkllb.SharedKeyHint(dockerui.DefaultLocalNameContext),
		dockerui.WithInternalName("load build context"),
	}, opts...)...)
	return &st, nil
}

// narrowed is the main context narrowed by opts, which n describes, under
// a shared-key hint of its own (see narrowing.sharedKeyHint).
func (m *mainContext) narrowed(ctx context.Context, n narrowing, opts ...bkllb.LocalOption) (*bkllb.State, error) {
	return m.state(ctx, append(opts, bkllb.SharedKeyHint(n.sharedKeyHint()))...)
}

// narrowedTo is the main context narrowed to include/exclude, keeping the
// user's ignore patterns.
func (m *mainContext) narrowedTo(ctx context.Context, include, exclude []string) (bkllb.State, error) {
	ignore, _, err := m.ignore.get(ctx)
	if err != nil {
		return bkllb.State{}, err
	}
	excludes := append(append([]string{}, ignore...), exclude...)
	opts := []bkllb.LocalOption{bkllb.ExcludePatterns(excludes)}
	if len(include) > 0 {
		opts = append(opts, bkllb.IncludePatterns(include))
	}
	st, err := m.narrowed(ctx, narrowing{include: include, exclude: excludes}, opts...)
	if err != nil {
		return bkllb.State{}, err
	}
	return *st, nil
}

// contextIgnore reads the main context's ignore patterns once, the way
// dockerui does: the Dappfile's own ignore file when the definition's
// transfer brought one, else .dockerignore of the main context, no
// patterns when there is none. own is true when the patterns came from
// the transfer of .git rather than from dockerui.
type contextIgnore struct {
	bc  *dockerui.Client
	src *dockerui.Source
	git *contextGit

	once     sync.Once
	patterns []string
	own      bool
	err      error
}

func (ci *contextIgnore) get(ctx context.Context) ([]string, bool, error) {
	ci.once.Do(func() { ci.patterns, ci.own, ci.err = ci.read(ctx) })
	return ci.patterns, ci.own, ci.err
}

func (ci *contextIgnore) read(ctx context.Context) ([]string, bool, error) {
	if !localMainContext(ci.bc.BuildOpts()) || !ci.git.transfers() {
		p, err := ci.bc.DockerIgnorePatterns(ctx)
		return p, false, err
	}
	beside, err := ci.definitionHasIgnoreFile(ctx)
	if err != nil {
		return nil, false, err
	}
	if beside {
		// dockerui read it with the Dappfile and asks for nothing more
		p, err := ci.bc.DockerIgnorePatterns(ctx)
		return p, false, err
	}
	ref, err := ci.git.solveDotGit(ctx)
	if err != nil {
		return nil, false, err
	}
	dt, err := readOptionalFile(ctx, ref, dockerignoreName)
	if err != nil {
		return nil, false, err
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(dt))
	if err != nil {
		return nil, false, errors.Wrapf(err, "failed parsing %s", dockerignoreName)
	}
	return patterns, true, nil
}

// definitionHasIgnoreFile reports whether the Dappfile's transfer holds
// <Dappfile>.dockerignore, which dockerui then took as the ignore file.
// The definition's state is the one dockerui solved: asking for it again
// transfers nothing.
func (ci *contextIgnore) definitionHasIgnoreFile(ctx context.Context) (bool, error) {
	if ci.src.SourceMap == nil || ci.src.SourceMap.Definition == nil {
		return false, errors.New("the Dappfile's source carries no definition")
	}
	res, err := ci.bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{Definition: ci.src.SourceMap.Definition.ToPB()})
	if err != nil {
		return false, err
	}
	ref, err := res.SingleRef()
	if err != nil {
		return false, err
	}
	_, err = ref.StatFile(ctx, gwclient.StatRequest{Path: ci.src.Filename + ".dockerignore"})
	return err == nil, nil
}

// readOptionalFile reads name of ref, nil when it is missing; one too big
// for a gRPC message is refused by dockerui.ReadFile, as when dockerui
// reads .dockerignore itself.
func readOptionalFile(ctx context.Context, ref gwclient.Reference, name string) ([]byte, error) {
	if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: name}); err != nil {
		return nil, nil
	}
	return dockerui.ReadFile(ctx, ref, name)
}
