package frontend

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/tonistiigi/fsutil"
)

const (
	keyFilename        = "filename"
	keyDockerfileKey   = "dockerfilekey"
	localSessionPrefix = "local-sessionid:"
)

// withDefaultFilename makes dockerui read the first of dappfile.DefaultNames
// that exists when the client did not pass `filename` (buildctl without
// --opt filename=...). buildx always passes one.
func withDefaultFilename(ctx context.Context, c gwclient.Client) (gwclient.Client, error) {
	opts := c.BuildOpts().Opts
	if opts[keyFilename] != "" {
		return c, nil
	}
	name := opts[keyDockerfileKey]
	if name == "" {
		name = dockerui.DefaultLocalNameDockerfile
	}
	sessionID := c.BuildOpts().SessionID
	if v := opts[localSessionPrefix+name]; v != "" {
		sessionID = v
	}
	// the very source dockerui.ReadEntrypoint builds with entrypointOpts,
	// so reading the definition after this finds it solved
	st := bkllb.Local(name, bkllb.FollowPaths(probedNames()), bkllb.SessionID(sessionID), bkllb.SharedKeyHint(name),
		dockerui.WithInternalName(probedSourceName), bkllb.Differ(bkllb.DiffNone, false))
	ref, err := solveRef(ctx, c, st)
	if err != nil {
		return nil, err
	}
	fn, err := dappfile.FindFile(refFS{ctx: ctx, ref: ref})
	if err != nil {
		return nil, fmt.Errorf("%w; name one with --opt filename=NAME (buildx: -f NAME)", err)
	}
	out := make(map[string]string, len(opts)+1)
	for k, v := range opts {
		out[k] = v
	}
	out[keyFilename] = fn
	return &clientWithOpts{Client: c, opts: out, probed: true}, nil
}

// probedSourceName names the transfer that finds and reads the Dappfile.
const probedSourceName = "load build definition"

// probedNames are the files the search for the Dappfile transfers: every
// default name and the .dockerignore dockerui reads beside it.
func probedNames() []string {
	out := append([]string{}, dappfile.DefaultNames...)
	for _, n := range dappfile.DefaultNames {
		out = append(out, n+".dockerignore")
	}
	return out
}

// entrypointOpts are the options of dockerui.ReadEntrypoint for c: when
// withDefaultFilename searched for the Dappfile, they make the source it
// solves the search's own, so the Dappfile is transferred once; BuildKit
// runs a vertex once per build.
func entrypointOpts(c gwclient.Client) []bkllb.LocalOption {
	if cw, ok := c.(*clientWithOpts); ok && cw.probed {
		return []bkllb.LocalOption{bkllb.FollowPaths(probedNames()), dockerui.WithInternalName(probedSourceName)}
	}
	return nil
}

// clientWithOpts is the gateway client with frontend options replaced.
type clientWithOpts struct {
	gwclient.Client
	opts map[string]string
	// probed: the Dappfile's name was found by withDefaultFilename
	probed bool
}

// CurrentFrontend passes through the gRPC client's frontend image, which
// the embedding would hide: gitHelper needs it to run git-export.
func (c *clientWithOpts) CurrentFrontend() (*bkllb.State, error) {
	if cf, ok := c.Client.(currentFrontend); ok {
		return cf.CurrentFrontend()
	}
	return nil, nil
}

func (c *clientWithOpts) BuildOpts() gwclient.BuildOpts {
	bo := c.Client.BuildOpts()
	bo.Opts = c.opts
	return bo
}

func solveRef(ctx context.Context, c gwclient.Client, st bkllb.State) (gwclient.Reference, error) {
	start := time.Now()
	defer func() { tracerFrom(ctx).add(ioProbe, true, time.Since(start), 0, 1) }()
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	// Evaluate: a lazy result would transfer only when first read, and
	// the work trees the checks read are solved ahead precisely so
	// that they transfer while the frontend does something else
	res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

// readDappfile loads the Dappfile with what its template may read from the
// build context, and forwards warnings to the client with their location.
// The context is read lazily: a Dappfile without a template action reads
// nothing of it (dappfile.Load).
func readDappfile(ctx context.Context, bc *dockerui.Client, src *dockerui.Source, main *mainContext, git *contextGit) (*dappfile.Config, error) {
	cfg, warnings, err := dappfile.Load(src.Data, dappfile.LoadOpt{
		Werf:      dappfile.IsWerfFile(src.Filename),
		BuildArgs: bc.BuildArgs,
		Context:   &contextFS{ctx: ctx, main: main},
		Commit:    func() (dappfile.Commit, error) { return headCommit(ctx, git) },
	})
	for _, w := range warnings {
		src.Warn(ctx, w.Message, warnOpts(w.Range))
	}
	return cfg, err
}

// headCommit is the context repository's HEAD, for werf's `.Commit`.
func headCommit(ctx context.Context, git *contextGit) (dappfile.Commit, error) {
	repo, err := git.repo(ctx)
	if err != nil {
		return dappfile.Commit{}, err
	}
	h, t, err := repo.HeadCommit()
	return dappfile.Commit{Hash: h, Time: t}, err
}

// contextFS is the build context for dappfile.Load. BuildKit transfers
// only what a solve asks for: the templates come in one transfer of the
// template folders, any other file (`.Files.Get`) in a transfer of its
// own.
type contextFS struct {
	ctx       context.Context
	main      *mainContext
	templates *refFS
}

func (c *contextFS) fsFor(name string) (refFS, error) {
	if !dappfile.IsTemplatePath(name) {
		return c.solve(narrowing{follow: []string{name}}, bkllb.FollowPaths([]string{name}), dockerui.WithInternalName("load "+name))
	}
	if c.templates == nil {
		n, opts := templatesNarrowing()
		r, err := c.solve(n, opts...)
		if err != nil {
			return refFS{}, err
		}
		c.templates = &r
	}
	return *c.templates, nil
}

// templatesNarrowing is the transfer of the template folders. Whole
// folders, not dappfile.TemplatePatterns: a pattern with a wildcard inside
// (**/*.tmpl) makes the client walk the whole context (.git, node_modules)
// on every build, while plain folder names let it skip everything else.
// dappfile reads only the .tmpl files of what comes.
func templatesNarrowing() (narrowing, []bkllb.LocalOption) {
	return narrowing{include: dappfile.TemplateDirs}, []bkllb.LocalOption{bkllb.IncludePatterns(dappfile.TemplateDirs),
		dockerui.WithInternalName("load " + strings.Join(dappfile.TemplateDirs, ", ") + " templates")}
}

func (c *contextFS) solve(n narrowing, opts ...bkllb.LocalOption) (refFS, error) {
	st, err := c.main.narrowed(c.ctx, n, opts...)
	if err != nil {
		return refFS{}, err
	}
	ref, err := solveRef(c.ctx, c.main.bc.GatewayClient(), *st)
	if err != nil {
		return refFS{}, err
	}
	return refFS{ctx: c.ctx, ref: ref}, nil
}

func (c *contextFS) ReadFile(name string) ([]byte, error) {
	r, err := c.fsFor(name)
	if err != nil {
		return nil, err
	}
	return r.ReadFile(name)
}

func (c *contextFS) Stat(name string) (fs.FileInfo, error) {
	r, err := c.fsFor(name)
	if err != nil {
		return nil, err
	}
	return r.Stat(name)
}

func (c *contextFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r, err := c.fsFor(name)
	if err != nil {
		return nil, err
	}
	return r.ReadDir(name)
}

// refFS reads one solved state. The gateway resolves symlinks inside the
// state's root, so nothing outside the context is ever read.
type refFS struct {
	ctx context.Context
	ref gwclient.Reference
}

func (r refFS) Stat(name string) (fs.FileInfo, error) {
	st, err := r.ref.StatFile(r.ctx, gwclient.StatRequest{Path: name})
	if err != nil {
		// The gateway reports a missing file as a gRPC error carrying the
		// lstat message, which errors.Is cannot see through.
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return &fsutil.StatInfo{Stat: st}, nil
}

func (r refFS) ReadFile(name string) ([]byte, error) {
	if _, err := r.Stat(name); err != nil {
		return nil, err
	}
	return dockerui.ReadFile(r.ctx, r.ref, name)
}

func (r refFS) ReadDir(name string) ([]fs.DirEntry, error) {
	sts, err := r.ref.ReadDir(r.ctx, gwclient.ReadDirRequest{Path: name})
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(sts))
	for _, st := range sts {
		out = append(out, fs.FileInfoToDirEntry(&fsutil.StatInfo{Stat: st}))
	}
	return out, nil
}
