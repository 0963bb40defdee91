package frontend

import (
	"context"
	"fmt"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// buildCacheMounts is the CacheMountsTarget: an image holding the content
// of every persistent cache mount the file's images and artifacts use,
// for the next build's CacheMountsContext.
func buildCacheMounts(ctx context.Context, bc *dockerui.Client, cfg *dappfile.Config, opt options, src *dockerui.Source, platform *ocispecs.Platform, git *contextGit, bg *background) (*dockerui.BuildResult, error) {
	copt := convertOpt(ctx, bc, opt, src, platform, git, bg)
	copt.Target = ""
	ms, err := dappllb.AllCacheMounts(ctx, cfg, copt)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		src.Warn(ctx, "no step of this file mounts a persistent cache: the saved image is empty", warnOpts(dappfile.Range{}))
	}
	env, err := transferEnv(ctx, bc, opt)
	if err != nil {
		return nil, err
	}
	def, err := dappllb.SaveCacheMounts(ms, env).Marshal(ctx)
	if err != nil {
		return nil, errors.Wrap(err, "failed to marshal LLB definition")
	}
	r, err := bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		return nil, err
	}
	ref, err := r.SingleRef()
	if err != nil {
		return nil, err
	}
	img := &dockerspec.DockerOCIImage{}
	img.RootFS.Type = "layers"
	img.Platform = workerPlatform(bc)
	if platform != nil {
		img.Platform = *platform
	}
	return &dockerui.BuildResult{Reference: ref, Image: img}, nil
}

// seedCacheMounts copies the content named by the CacheMountsContext into
// the empty ones of ms, before the build runs. The build's definition is
// left as it is, so no step's cache key depends on the seeding. Saved
// content that cannot be loaded (the first CI run has none) is a warning:
// the build runs with the caches it has.
func seedCacheMounts(ctx context.Context, bc *dockerui.Client, opt options, src *dockerui.Source, ms []cachemounts.Mount, platform *ocispecs.Platform) error {
	nc, err := bc.NamedContext(dappllb.CacheMountsContext, dockerui.ContextOpt{Platform: platform, ResolveMode: bc.ImageResolveMode.String()})
	if err != nil || nc == nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	warn := func(err error) {
		src.Warn(ctx, fmt.Sprintf("cache mounts not seeded from %s: %v", dappllb.CacheMountsContext, err), warnOpts(dappfile.Range{}))
	}
	saved, _, err := nc.Load(ctx)
	if err != nil {
		warn(err)
		return nil
	}
	env, err := transferEnv(ctx, bc, opt)
	if err != nil {
		return err
	}
	def, err := dappllb.SeedCacheMounts(ms, *saved, env).Marshal(ctx)
	if err != nil {
		return errors.Wrap(err, "failed to marshal LLB definition")
	}
	if _, err := bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true}); err != nil {
		warn(err)
	}
	return nil
}

func transferEnv(ctx context.Context, bc *dockerui.Client, opt options) (dappllb.TransferEnv, error) {
	helper, err := frontendBinary(bc, opt, "cache mounts are saved and seeded by the frontend binary inside the build")(ctx)
	if err != nil {
		return dappllb.TransferEnv{}, err
	}
	p := workerPlatform(bc)
	return dappllb.TransferEnv{Helper: helper, Platform: &p, MaxSize: opt.cacheMountsMaxSize, Run: bc.BuildOpts().SessionID}, nil
}
