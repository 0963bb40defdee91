package frontend

import (
	"context"
	"sync"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// earlyBases are the solves of the target's bases that need no git
// (dappllb.GitFreeBases), started as soon as the Dappfile is read. The
// target's own conversion waits for .git and its read-ahead (a container
// after every commit, and a transfer of all of .git on a cold build);
// a base of packages (apt, npm -g) needs neither, and on a cold build its
// steps are the longest. Converted on its own with the build's options,
// a base is the very vertex the target's graph builds on
// (TestGitFreeBaseIsTheTargetsVertex), so BuildKit runs it once: from
// here, and the build's solve finds it running or done. Errors are left
// to the build's own conversion and solve, which report them.
type earlyBases struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func startEarlyBases(ctx context.Context, bc *dockerui.Client, cfg *dappfile.Config, opt options, src *dockerui.Source, git *contextGit, bg *background, seeder *cacheSeeder) *earlyBases {
	e := &earlyBases{cancel: func() {}}
	bases := dappllb.GitFreeBases(cfg, bc.Target)
	if len(bases) == 0 {
		return e
	}
	ctx, e.cancel = context.WithCancel(ctx)
	// the platforms as dockerui.Client.Build gives them to the build's
	// conversions: nil when none was asked for
	targets := []*ocispecs.Platform{nil}
	if len(bc.TargetPlatforms) > 0 {
		targets = targets[:0]
		for _, p := range bc.TargetPlatforms {
			targets = append(targets, &p)
		}
	}
	for _, p := range targets {
		for _, base := range bases {
			e.wg.Go(func() {
				co := convertOpt(ctx, bc, opt, src, p, git, bg)
				co.Target = base.Name
				// the build's conversion warns about the base, once
				co.Warn = nil
				res, err := dappllb.Convert(ctx, cfg, co)
				if err != nil {
					return
				}
				// seeded before any step mounts them, as the build does
				if seeder.seed(ctx, res.CacheMounts) != nil {
					return
				}
				def, err := res.State.Marshal(ctx)
				if err != nil {
					return
				}
				_, _ = bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{
					Definition:   def.ToPB(),
					CacheImports: bc.CacheImports,
					Evaluate:     true,
				})
			})
		}
	}
	return e
}

// stop cancels the solves still running (after the build's own solve
// they are done, unless it failed) and waits for them.
func (e *earlyBases) stop() {
	e.cancel()
	e.wg.Wait()
}
