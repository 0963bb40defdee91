package frontend

import (
	"context"
	"net"
	"path"
	"slices"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

const (
	keyContextKey = "contextkey"
	keyNoCache    = "no-cache"
)

// dockerfileSource is a werf `dockerfile:` image's Dockerfile and how to
// reach its build context.
type dockerfileSource struct {
	// Data is the Dockerfile; SourceMap ties its steps (and its errors)
	// to its lines.
	data      []byte
	sourceMap *bkllb.SourceMap
	// client serves the Dockerfile's build context, .dockerignore and
	// named contexts (`--build-context`), as in a Dockerfile build. Nil
	// takes mainContext (tests).
	client      *dockerui.Client
	mainContext *bkllb.State
	// warn receives the Dockerfile's lint warnings; may be nil.
	warn linter.LintWarnFunc
}

// convertDockerfileFunc serves werf's `dockerfile:` images with BuildKit's
// own Dockerfile converter. Each image gets a dockerui client of its own
// over the same gateway: it reads the Dockerfile from the build context
// with dockerui's reader (so errors and progress point at the Dockerfile's
// lines) and gives the converter the image's `context:` folder as the
// main context, with .dockerignore and named contexts working as in a
// Dockerfile build.
func convertDockerfileFunc(bc *dockerui.Client) func(context.Context, *dappfile.Image, ocispecs.Platform) (*dappllb.DockerfileResult, error) {
	return func(ctx context.Context, img *dappfile.Image, p ocispecs.Platform) (*dappllb.DockerfileResult, error) {
		src, err := loadDockerfile(ctx, bc, img)
		if err != nil {
			return nil, err
		}
		return convertDockerfile(ctx, src, bc.Config, bc.GatewayClient(), img, p)
	}
}

func loadDockerfile(ctx context.Context, bc *dockerui.Client, img *dappfile.Image) (*dockerfileSource, error) {
	df := img.Dockerfile
	c, err := dockerfileClient(ctx, bc, img)
	if err != nil {
		return nil, err
	}
	src, err := c.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, errors.Wrapf(err, "dockerfile image %q: reading %s from the build context", img.Name, path.Join(df.Context, df.Dockerfile))
	}
	return &dockerfileSource{
		data:      src.Data,
		sourceMap: src.SourceMap,
		client:    c,
		warn: func(rule, description, url, msg string, loc []parser.Range) {
			src.Warn(ctx, msg, gwclient.WarnOpts{URL: url, Range: pbRanges(loc)})
		},
	}, nil
}

// convertDockerfile runs dockerfile2llb with the build's options and the
// image's own target, args, addHost and network on top.
func convertDockerfile(ctx context.Context, src *dockerfileSource, base dockerui.Config, resolver bkllb.ImageMetaResolver, img *dappfile.Image, p ocispecs.Platform) (*dappllb.DockerfileResult, error) {
	cfg, err := dockerfileConfig(base, img)
	if err != nil {
		return nil, err
	}
	opt := dockerfile2llb.ConvertOpt{
		Config:         cfg,
		Client:         src.client,
		SourceMap:      src.sourceMap,
		TargetPlatform: &p,
		MetaResolver:   resolver,
		Warn:           src.warn,
	}
	if src.client == nil {
		opt.MainContext = src.mainContext
	}
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, src.data, opt)
	if err != nil {
		return nil, dockerfileError(err, src.sourceMap, img)
	}
	return &dappllb.DockerfileResult{State: res.State, Image: res.Image, BaseImage: res.BaseImage}, nil
}

// dockerfileOutline answers `--call outline` for a `dockerfile:` image
// with the Dockerfile's own outline (its args, secrets, ssh and cache
// mounts, located in the Dockerfile).
func dockerfileOutline(ctx context.Context, bc *dockerui.Client, img *dappfile.Image) (*outline.Outline, error) {
	src, err := loadDockerfile(ctx, bc, img)
	if err != nil {
		return nil, err
	}
	cfg, err := dockerfileConfig(bc.Config, img)
	if err != nil {
		return nil, err
	}
	o, err := dockerfile2llb.Dockerfile2Outline(ctx, src.data, dockerfile2llb.ConvertOpt{
		Config: cfg, Client: src.client, SourceMap: src.sourceMap, MetaResolver: bc.GatewayClient(),
	})
	if err != nil {
		return nil, dockerfileError(err, src.sourceMap, img)
	}
	o.Description = dappllb.Describe(img)
	return o, nil
}

// dockerfileConfig is the build's options with the image's own on top:
// werf's `args` override build args of the same name, `addHost` adds
// hosts and `network` sets the RUN network.
func dockerfileConfig(base dockerui.Config, img *dappfile.Image) (dockerui.Config, error) {
	df := img.Dockerfile
	cfg := base
	cfg.Target = df.Target
	cfg.Labels = nil // the result's labels are applied once, by the conversion
	cfg.BuildArgs = make(map[string]string, len(base.BuildArgs)+len(df.Args))
	for k, v := range base.BuildArgs {
		cfg.BuildArgs[k] = v
	}
	for _, kv := range df.Args {
		cfg.BuildArgs[kv.Key] = kv.Value
	}
	cfg.ExtraHosts = append([]bkllb.HostIP{}, base.ExtraHosts...)
	for _, h := range df.AddHost {
		host, ip, _ := strings.Cut(h, ":")
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return cfg, errors.Errorf("`addHost` %q: %q is not an IP address", h, ip)
		}
		cfg.ExtraHosts = append(cfg.ExtraHosts, bkllb.HostIP{Host: host, IP: parsed})
	}
	switch df.Network {
	case "none":
		cfg.NetworkMode = pb.NetMode_NONE
	case "host":
		cfg.NetworkMode = pb.NetMode_HOST
	case "default":
		cfg.NetworkMode = pb.NetMode_UNSET
	}
	return cfg, nil
}

// dockerfileError points an error of the Dockerfile at the Dockerfile's
// lines, as the Dockerfile frontend does; the conversion places any other
// error at the image's `dockerfile:` key.
func dockerfileError(err error, sm *bkllb.SourceMap, img *dappfile.Image) error {
	err = errors.Wrapf(err, "dockerfile image %q (%s)", img.Name, img.Dockerfile.Dockerfile)
	var le *parser.LocationError
	if sm == nil || !errors.As(err, &le) {
		return err
	}
	src := &errdefs.Source{Info: &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language}}
	if sm.Definition != nil {
		src.Info.Definition = sm.Definition.ToPB()
	}
	for _, rs := range le.Locations {
		src.Ranges = append(src.Ranges, pbRanges(rs)...)
	}
	return errdefs.WithSource(err, src)
}

// dockerfileClient is a dockerui client whose Dockerfile is
// context/dockerfile of the build context and whose main context is the
// `context:` folder. `--no-cache-filter` naming the werf image reruns all
// its Dockerfile's steps; naming a Dockerfile stage still works.
func dockerfileClient(ctx context.Context, bc *dockerui.Client, img *dappfile.Image) (*dockerui.Client, error) {
	df := img.Dockerfile
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
	if v := opts[keyNoCache]; v != "" && slices.Contains(strings.Split(v, ","), img.Name) {
		out[keyNoCache] = "" // every stage
	}
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

// LocalDockerfiles converts `dockerfile:` images offline, for the `llb`
// debug command: the Dockerfile comes from readFile (a path relative to
// the build context) and the main context is the local named "context".
func LocalDockerfiles(readFile func(name string) ([]byte, error), resolver bkllb.ImageMetaResolver) func(context.Context, *dappfile.Image, ocispecs.Platform) (*dappllb.DockerfileResult, error) {
	return func(ctx context.Context, img *dappfile.Image, p ocispecs.Platform) (*dappllb.DockerfileResult, error) {
		name := path.Join(img.Dockerfile.Context, img.Dockerfile.Dockerfile)
		data, err := readFile(name)
		if err != nil {
			return nil, err
		}
		main := bkllb.Local(dockerui.DefaultLocalNameContext)
		src := &dockerfileSource{data: data, sourceMap: bkllb.NewSourceMap(nil, name, "Dockerfile", data), mainContext: &main}
		return convertDockerfile(ctx, src, dockerui.Config{}, resolver, img, p)
	}
}
