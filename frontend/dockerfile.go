package frontend

import (
	"context"
	"path"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
)

const keyContextKey = "contextkey"

// loadDockerfile serves werf's `dockerfile:` images. Each gets a dockerui
// client of its own over the same gateway: it reads the Dockerfile from
// the build context with dockerui's own reader (so errors and progress
// point at the Dockerfile's lines) and gives the converter the image's
// `context:` folder as the main context, with .dockerignore and named
// contexts working as in a Dockerfile build.
func loadDockerfile(bc *dockerui.Client) func(context.Context, *dappfile.Image) (*dappllb.DockerfileSource, error) {
	return func(ctx context.Context, img *dappfile.Image) (*dappllb.DockerfileSource, error) {
		df := img.Dockerfile
		c, err := dockerfileClient(ctx, bc, df)
		if err != nil {
			return nil, err
		}
		src, err := c.ReadEntrypoint(ctx, "Dockerfile")
		if err != nil {
			return nil, errors.Wrapf(err, "dockerfile image %q: reading %s from the build context", img.Name, path.Join(df.Context, df.Dockerfile))
		}
		return &dappllb.DockerfileSource{
			Data:      src.Data,
			SourceMap: src.SourceMap,
			Config:    bc.Config,
			Client:    c,
			Warn: func(rule, description, url, msg string, loc []parser.Range) {
				src.Warn(ctx, msg, gwclient.WarnOpts{URL: url, Range: pbRanges(loc)})
			},
		}, nil
	}
}

// dockerfileClient is a dockerui client whose Dockerfile is
// context/dockerfile of the build context and whose main context is the
// `context:` folder.
func dockerfileClient(ctx context.Context, bc *dockerui.Client, df *dappfile.DockerfileImage) (*dockerui.Client, error) {
	gw := bc.GatewayClient()
	opts := gw.BuildOpts().Opts
	out := make(map[string]string, len(opts)+2)
	for k, v := range opts {
		out[k] = v
	}
	contextName := opts[keyContextKey]
	if contextName == "" {
		contextName = dockerui.DefaultLocalNameContext
	}
	out[keyFilename] = path.Join(df.Context, df.Dockerfile)
	out[keyDockerfileKey] = contextName
	var c gwclient.Client = &clientWithOpts{Client: gw, opts: out}
	if df.Context != "" {
		main, err := bc.MainContext(ctx, bkllb.FollowPaths([]string{df.Context}))
		if err != nil {
			return nil, err
		}
		scoped := bkllb.Scratch().File(bkllb.Copy(*main, "/"+df.Context, "/", &bkllb.CopyInfo{CopyDirContentsOnly: true}),
			dockerui.WithInternalName("context "+df.Context))
		c = &scopedContext{Client: c, context: scoped}
	}
	return dockerui.NewClient(c)
}

// scopedContext hands dockerui a main context of its own (as a frontend
// input, the way a forwarded build passes one).
type scopedContext struct {
	gwclient.Client
	context bkllb.State
}

func (s *scopedContext) Inputs(ctx context.Context) (map[string]bkllb.State, error) {
	return map[string]bkllb.State{dockerui.DefaultLocalNameContext: s.context}, nil
}

// CurrentFrontend passes the frontend image through the wrapper.
func (s *scopedContext) CurrentFrontend() (*bkllb.State, error) {
	if cf, ok := s.Client.(currentFrontend); ok {
		return cf.CurrentFrontend()
	}
	return nil, nil
}

func pbRanges(loc []parser.Range) []*pb.Range {
	var out []*pb.Range
	for _, r := range loc {
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
			End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
		})
	}
	return out
}
