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

// earlyParts are the solves of what of the target's graph needs no git
// (dappllb.ConvertEarly: the bases that need none, whole, and each other
// image's steps before its first git stage), started as soon as the
// Dappfile is read. The target's own conversion waits for .git and its
// read-ahead (a container after every commit, and a transfer of all of
// .git on a cold build); a base of packages (apt, npm -g) or an image's
// beforeInstall needs neither, and on a cold build their steps are the
// longest. Each part is a vertex of the target's graph, converted with the
// build's options, so BuildKit runs it once: from here, and the build's
// solve finds it running or done. Errors are left to the build's own
// conversion and solve, which report them.
type earlyParts struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func startEarlyParts(ctx context.Context, bc *dockerui.Client, cfg *dappfile.Config, opt options, src *dockerui.Source, git *contextGit, bg *background, seeder *cacheSeeder) *earlyParts {
	e := &earlyParts{}
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
		e.wg.Go(func() {
			co := convertOpt(ctx, bc, opt, src, p, git, bg)
			// the build's conversion warns about these steps, once
			co.Warn = nil
			for _, part := range dappllb.ConvertEarly(ctx, cfg, co) {
				e.wg.Go(func() { e.solve(ctx, bc, seeder, part) })
			}
		})
	}
	return e
}

func (e *earlyParts) solve(ctx context.Context, bc *dockerui.Client, seeder *cacheSeeder, part *dappllb.Result) {
	// seeded before any step mounts them, as the build does
	if seeder.seed(ctx, part.CacheMounts) != nil {
		return
	}
	def, err := part.State.Marshal(ctx)
	if err != nil {
		return
	}
	_, _ = bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{
		Definition:   def.ToPB(),
		CacheImports: bc.CacheImports,
		Evaluate:     true,
	})
}

// stop cancels the solves still running (after the build's own solve
// they are done, unless it failed) and waits for them.
func (e *earlyParts) stop() {
	e.cancel()
	e.wg.Wait()
}
