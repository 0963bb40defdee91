package frontend

import (
	"context"
	"io/fs"
	"path"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/pkg/errors"
)

const (
	keyFilename        = "filename"
	keyDockerfileKey   = "dockerfilekey"
	localSessionPrefix = "local-sessionid:"
)

// defaultFilenames are tried in order when the client names no file:
// dapp's names first, so a Dappfile user's lookup never changes, then
// werf's.
var defaultFilenames = []string{"Dappfile", "dappfile.yaml", "dappfile.yml", "werf.yaml", "werf.yml"}

// templateDirs hold the templates `include` reads: dapp's `.dappfiles` and
// werf's `.werf`, `**/*.tmpl` in each, named by the path inside the folder.
var templateDirs = []string{".dappfiles", ".werf"}

// withDefaultFilename makes dockerui read the first of defaultFilenames that
// exists when the client did not pass `filename` (buildctl without
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
	st := bkllb.Local(name, bkllb.SessionID(sessionID), bkllb.FollowPaths(defaultFilenames),
		bkllb.SharedKeyHint(name), dockerui.WithInternalName("find Dappfile"))
	ref, err := solveRef(ctx, c, st)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, fn := range defaultFilenames {
		if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: fn}); err == nil {
			found = append(found, fn)
		}
	}
	if len(found) > 1 && found[0] == "Dappfile" {
		// dapp 0.27 and later read only the YAML file: a repository that
		// kept its old Ruby DSL Dappfile beside it builds the YAML one
		if dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: "Dappfile"}); err == nil && dappfile.LooksLikeRubyDSL(dt) {
			found = found[1:]
		}
	}
	if len(found) > 0 {
		out := make(map[string]string, len(opts)+1)
		for k, v := range opts {
			out[k] = v
		}
		out[keyFilename] = found[0]
		return &clientWithOpts{Client: c, opts: out}, nil
	}
	return nil, errors.Errorf("no Dappfile or werf.yaml found: looked for %s; name one with --opt filename=NAME (buildx: -f NAME)", strings.Join(defaultFilenames, ", "))
}

// clientWithOpts is the gateway client with frontend options replaced.
type clientWithOpts struct {
	gwclient.Client
	opts map[string]string
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
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

// readDappfile parses the Dappfile with what its template may read from the
// build context, and forwards warnings to the client with their location.
func readDappfile(ctx context.Context, bc *dockerui.Client, src *dockerui.Source) (*dappfile.Config, error) {
	templates, paths, err := readTemplates(ctx, bc)
	if err != nil {
		return nil, err
	}
	cfg, warnings, err := dappfile.Parse(src.Data, dappfile.ParseOpt{
		Filename:      src.Filename,
		BuildArgs:     bc.BuildArgs,
		Templates:     templates,
		TemplatePaths: paths,
		ReadFile:      func(p string) ([]byte, error) { return readContextFile(ctx, bc, p) },
		Commit:        func() (dappfile.Commit, error) { return headCommit(ctx, bc) },
	})
	for _, w := range warnings {
		src.Warn(ctx, w.Message, warnOpts(w.Range))
	}
	return cfg, err
}

// readTemplates loads `**/*.tmpl` of templateDirs from the build context,
// keyed by the path inside their folder, with the path of each in the
// context. One name in two folders is refused: include could not tell
// them apart.
func readTemplates(ctx context.Context, bc *dockerui.Client) (map[string][]byte, map[string]string, error) {
	var patterns []string
	for _, dir := range templateDirs {
		patterns = append(patterns, dir+"/**/*.tmpl")
	}
	st, err := bc.MainContext(ctx, bkllb.IncludePatterns(patterns),
		dockerui.WithInternalName("load "+strings.Join(templateDirs, " and ")+" templates"))
	if err != nil {
		return nil, nil, err
	}
	ref, err := solveRef(ctx, bc.GatewayClient(), *st)
	if err != nil {
		return nil, nil, err
	}
	out, paths := map[string][]byte{}, map[string]string{}
	for _, dir := range templateDirs {
		err = walkRef(ctx, ref, dir, func(p string) error {
			if !strings.HasSuffix(p, ".tmpl") {
				return nil
			}
			name := strings.TrimPrefix(p, dir+"/")
			if prev, dup := paths[name]; dup {
				return errors.Errorf("template %q is both %s and %s: rename one, include names a template by its path inside the folder", name, prev, p)
			}
			dt, err := dockerui.ReadFile(ctx, ref, p)
			if err != nil {
				return err
			}
			out[name], paths[name] = dt, p
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return out, paths, nil
}

// headCommit is the context repository's HEAD, for werf's `.Commit`.
func headCommit(ctx context.Context, bc *dockerui.Client) (dappfile.Commit, error) {
	repo, err := openContextRepo(ctx, bc)
	if err != nil {
		return dappfile.Commit{}, err
	}
	h, t, err := repo.HeadCommit()
	return dappfile.Commit{Hash: h, Time: t}, err
}

// walkRef calls fn for every regular file below dir of a solved state; a
// missing dir is no error.
func walkRef(ctx context.Context, ref gwclient.Reference, dir string, fn func(string) error) error {
	entries, err := ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir})
	if err != nil {
		return nil
	}
	for _, e := range entries {
		p := path.Join(dir, e.Path)
		switch {
		case fs.FileMode(e.Mode).IsDir():
			if err := walkRef(ctx, ref, p, fn); err != nil {
				return err
			}
		case fs.FileMode(e.Mode).IsRegular():
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// readContextFile serves `.Files.Get`: one small transfer per file.
func readContextFile(ctx context.Context, bc *dockerui.Client, p string) ([]byte, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	st, err := bc.MainContext(ctx, bkllb.FollowPaths([]string{p}), dockerui.WithInternalName("load "+p))
	if err != nil {
		return nil, err
	}
	ref, err := solveRef(ctx, bc.GatewayClient(), *st)
	if err != nil {
		return nil, err
	}
	if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: p}); err != nil {
		return nil, errors.Wrapf(fs.ErrNotExist, "%s", p)
	}
	return dockerui.ReadFile(ctx, ref, p)
}
