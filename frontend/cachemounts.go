package frontend

import (
	"context"
	"fmt"
	"sync"

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

// cacheSeeder copies the content named by the CacheMountsContext into the
// empty caches of the build, before the build runs. The build's definition
// is left as it is, so no step's cache key depends on the seeding. Saved
// content that cannot be loaded (the first CI run has none) is a warning:
// the build runs with the caches it has.
//
// One seeder serves every platform of a build: the caches are the
// builder's, not a platform's, and two seeds of one shared cache at once
// would both find it empty. The saved image is read for the worker's
// platform, where the copy runs.
type cacheSeeder struct {
	bc  *dockerui.Client
	opt options
	src *dockerui.Source

	mu     sync.Mutex
	seeded map[string]bool // cacheSet keys
}

func newCacheSeeder(bc *dockerui.Client, opt options, src *dockerui.Source) *cacheSeeder {
	return &cacheSeeder{bc: bc, opt: opt, src: src, seeded: map[string]bool{}}
}

// seed seeds those of ms no earlier call seeded.
func (s *cacheSeeder) seed(ctx context.Context, ms []cachemounts.Mount) error {
	p := workerPlatform(s.bc)
	nc, err := s.bc.NamedContext(dappllb.CacheMountsContext, dockerui.ContextOpt{Platform: &p, ResolveMode: s.bc.ImageResolveMode.String()})
	if err != nil || nc == nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var todo []cachemounts.Mount
	for _, m := range ms {
		if key := dappllb.CacheKey(m); !s.seeded[key] {
			s.seeded[key] = true
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	warn := func(err error) {
		s.src.Warn(ctx, fmt.Sprintf("cache mounts not seeded from %s: %v", dappllb.CacheMountsContext, err), warnOpts(dappfile.Range{}))
	}
	saved, _, err := nc.Load(ctx)
	if err != nil {
		warn(err)
		return nil
	}
	env, err := transferEnv(ctx, s.bc, s.opt)
	if err != nil {
		return err
	}
	def, err := dappllb.SeedCacheMounts(todo, *saved, env).Marshal(ctx)
	if err != nil {
		return errors.Wrap(err, "failed to marshal LLB definition")
	}
	if _, err := s.bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true}); err != nil {
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
