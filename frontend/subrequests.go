package frontend

import (
	"context"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/pb"
)

// listTargets answers `--call targets`: every image and artifact, with the
// default one marked and the line it is defined on.
func listTargets(cfg *dappfile.Config, current string, data []byte) (*targets.List, error) {
	def, _ := dappllb.SelectTarget(cfg, "")
	l := &targets.List{Sources: [][]byte{data}}
	for _, img := range cfg.Images {
		l.Targets = append(l.Targets, targets.Target{
			Name:        img.Name,
			Default:     img == def,
			Description: dappllb.Describe(img),
			Base:        img.From,
			Location:    location(img.NameLoc),
		})
	}
	return l, nil
}

// outline answers `--call outline`: the chosen target, the build args its
// template reads, and its cache mounts.
func describeOutline(ctx context.Context, cfg *dappfile.Config, bc *dockerui.Client, opt options, data []byte) (*outline.Outline, error) {
	img, err := dappllb.SelectTarget(cfg, bc.Target)
	if err != nil {
		return nil, err
	}
	if img.Dockerfile != nil {
		return dockerfileOutline(ctx, bc, img)
	}
	o := &outline.Outline{Name: img.Name, Description: dappllb.Describe(img), Sources: [][]byte{data}}
	mounts, err := dappllb.CacheMounts(cfg, img, dappllb.ConvertOpt{Project: opt.project, CacheNamespace: bc.CacheIDNamespace, AutoCache: opt.autoCache})
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		o.Cache = append(o.Cache, outline.CacheMount{ID: m.Describe(), Location: location(m.Loc)})
	}
	outlineSecrets(cfg, img, o)
	for _, name := range cfg.BuildArgs {
		o.Args = append(o.Args, outline.Arg{Name: name, Value: bc.BuildArgs[name], Description: "read by the template with env"})
	}
	return o, nil
}

func location(r dappfile.Range) *pb.Location {
	ranges := dappllb.PBRanges(r)
	if len(ranges) == 0 {
		return nil
	}
	return &pb.Location{SourceIndex: 0, Ranges: ranges}
}
