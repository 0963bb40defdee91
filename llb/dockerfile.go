package llb

import (
	"context"
	"net"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
)

// DockerfileSource is a werf `dockerfile:` image's Dockerfile and its build
// context, as the frontend loads them.
type DockerfileSource struct {
	// Data is the Dockerfile; SourceMap ties its steps (and its errors) to
	// its lines.
	Data      []byte
	SourceMap *bkllb.SourceMap
	// Config holds the build's standard options (build args, cache
	// namespace, resolve mode, network, hosts …); the image's own
	// target, args, addHost and network are applied on top.
	Config dockerui.Config
	// Client serves the Dockerfile's build context, .dockerignore and
	// named contexts (`--build-context`), as in a Dockerfile build. Nil
	// takes MainContext (tests, the offline dump).
	Client      *dockerui.Client
	MainContext *bkllb.State
	// Warn receives the Dockerfile's lint warnings; may be nil.
	Warn linter.LintWarnFunc
}

// buildDockerfile converts a `dockerfile:` image with BuildKit's own
// Dockerfile converter. Its state joins the same graph, so it builds in
// the same solve as the stapel images, in parallel with them.
func (b *builder) buildDockerfile(ctx context.Context, img *dappfile.Image) (*built, error) {
	df := img.Dockerfile
	if b.opt.LoadDockerfile == nil {
		return nil, withLocation(b.cfg, errors.New("dockerfile images cannot be built here: no Dockerfile loader"), df.Loc)
	}
	src, err := b.opt.LoadDockerfile(ctx, img)
	if err != nil {
		return nil, withLocation(b.cfg, err, df.Loc)
	}
	cfg, err := dockerfileConfig(src.Config, img)
	if err != nil {
		return nil, withLocation(b.cfg, err, img.Loc)
	}
	p := (&stageBuilder{b: b, img: img}).platform()
	opt := dockerfile2llb.ConvertOpt{
		Config:         cfg,
		Client:         src.Client,
		SourceMap:      src.SourceMap,
		TargetPlatform: &p,
		MetaResolver:   b.opt.ImageResolver,
		Warn:           src.Warn,
	}
	if src.Client == nil {
		opt.MainContext = src.MainContext
	}
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, src.Data, opt)
	if err != nil {
		return nil, dockerfileError(err, src.SourceMap, img, b.cfg)
	}
	return &built{state: res.State, values: res.State, image: res.Image, baseImage: res.BaseImage}, nil
}

// dockerfileConfig is the build's options with the image's own on top:
// werf's `args` override build args of the same name, `addHost` adds
// hosts and `network` sets the RUN network.
func dockerfileConfig(base dockerui.Config, img *dappfile.Image) (dockerui.Config, error) {
	df := img.Dockerfile
	cfg := base
	cfg.Target = df.Target
	cfg.Labels = nil // the result's labels are applied once, by Convert
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
// lines (as the Dockerfile frontend does), anything else at the image's
// `dockerfile:` key.
func dockerfileError(err error, sm *bkllb.SourceMap, img *dappfile.Image, cfg *dappfile.Config) error {
	err = errors.Wrapf(err, "dockerfile image %q (%s)", img.Name, img.Dockerfile.Dockerfile)
	var le *parser.LocationError
	if sm == nil || !errors.As(err, &le) {
		return withLocation(cfg, err, img.Dockerfile.Loc)
	}
	src := &errdefs.Source{Info: &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language}}
	if sm.Definition != nil {
		src.Info.Definition = sm.Definition.ToPB()
	}
	for _, rs := range le.Locations {
		for _, r := range rs {
			src.Ranges = append(src.Ranges, &pb.Range{
				Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
				End:   &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)},
			})
		}
	}
	return errdefs.WithSource(err, src)
}
