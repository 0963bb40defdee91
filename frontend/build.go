// Package frontend is the BuildKit side of dapp-frontend: a gateway
// BuildFunc that reads the Dappfile from the build's `dockerfile` input,
// answers subrequests (targets, outline), converts the Dappfile to LLB for
// every requested platform and solves it. It is the only package that talks
// to the gateway client.
package frontend

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// Build is the frontend's entry point (a gateway BuildFunc).
func Build(ctx context.Context, c gwclient.Client) (_ *gwclient.Result, err error) {
	tr := traceOption(c.BuildOpts().Opts)
	ctx = withTracer(ctx, tr)
	endOptions := tr.span(phaseOptions)
	var ahead sync.WaitGroup
	defer ahead.Wait()
	// the transfer of .git (.dockerignore with it, see dotGitOpts) and
	// the read-ahead inside the build start before the Dappfile is found
	// and read, and stop if it maps no git. The templates are not
	// transferred ahead: dappfile.Load reads them only for a Dappfile
	// with template actions, and for the others the transfer would cost
	// the daemon a solve for nothing
	spec, stopSpeculation := speculateReadAhead(ctx, c, &ahead)
	defer stopSpeculation()
	c, err = withDefaultFilename(ctx, c)
	if err != nil {
		return nil, err
	}
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	opt, err := parseOptions(bc.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	endOptions(0, 0)
	// the registry images the options name resolve beside the reading of
	// the Dappfile and .git; a build that ends before they are used
	// cancels what is still running
	bases := newBaseImages(bc)
	defer bases.wait()
	basesCtx, stopBases := context.WithCancel(ctx)
	defer stopBases()
	bases.warmNamedImages(basesCtx)
	endDappfile := tr.span(phaseDappfile)
	git := newContextGit(bc, readAheadHelper(ctx, bc, opt))
	git.spec = spec
	src, err := bc.ReadEntrypoint(ctx, "YAML", entrypointOpts(c)...)
	if err != nil {
		return nil, err
	}
	defer func() { err = keepMessage(wrapSource(err, src.SourceMap)) }()

	// .git is read ahead, beside the templates and the rendering, when
	// the Dappfile may need it; the reads land in the reader's cache.
	// Once the conversions are done, what prefetch has not read yet is
	// not needed: it stops rather than hold the build's end
	aheadCtx, stopAhead := context.WithCancel(ctx)
	defer stopAhead()
	if mentionsGit(src.Data) {
		git.willPrefetch()
		ahead.Go(func() { git.prefetch(ctx, aheadCtx) })
	} else {
		// what it solved may be cut short: .git, if a template reads
		// it, is solved anew
		stopSpeculation()
		git.spec = nil
	}
	main := newMainContext(bc, src, git)
	cfg, err := readDappfile(ctx, bc, src, main, git)
	if err != nil {
		return nil, err
	}
	endDappfile(int64(len(src.Data)), 0)
	opt = opt.withMeta(cfg)
	if res, ok, err := bc.HandleSubrequest(ctx, dockerui.RequestHandler{
		ListTargets: func(ctx context.Context) (*targets.List, error) { return listTargets(cfg, bc.Target, src.Data) },
		Outline: func(ctx context.Context) (*outline.Outline, error) {
			return describeOutline(ctx, cfg, bc, opt, src.Data)
		},
	}); err != nil || ok {
		return res, err
	}

	if err := dappllb.CheckCacheMountsTarget(cfg, bc.Target); err != nil {
		return nil, err
	}
	// the uncommitted-change checks run beside the solves; their
	// warnings must be sent before Build returns. Their work trees
	// transfer from now on, beside the reading of .git and the plan.
	bg := newBackground(ctx, git, newWorktrees(main), bases)
	defer bg.wait()
	// the base images resolve from now on too (those warm started
	// already are not asked again)
	bg.bases.warm(ctx, dappllb.TargetImages(cfg, bc.Target))
	bg.start(dappllb.WorktreeChecks(cfg, bc.Target, opt.dev), func(ws []dappfile.Warning) {
		for _, w := range ws {
			src.Warn(ctx, w.Message, warnOpts(w.Range))
		}
	})
	seeder := newCacheSeeder(bc, opt, src)
	// what of the graph needs no git (bases, steps before git) solves
	// from now on, beside .git's read-ahead and the plan
	early := startEarlyParts(ctx, bc, cfg, opt, src, git, bg, seeder)
	defer early.stop()
	epoch, err := sourceDateEpoch(bc.BuildArgs, cfg, func() (time.Time, error) {
		c, err := headCommit(ctx, git)
		return c.Time, err
	})
	var headErr *headTimeError
	if errors.As(err, &headErr) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	rb, err := bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, idx int) (*dockerui.BuildResult, error) {
		if bc.Target == dappllb.CacheMountsTarget {
			return buildCacheMounts(ctx, bc, cfg, opt, src, platform, git, bg)
		}
		return buildPlatform(ctx, bc, cfg, opt, src, platform, epoch, headErr, git, bg, seeder)
	})
	stopAhead()
	early.stop()
	bg.wait()
	if err != nil {
		return nil, err
	}
	if err := printTrace(ctx, tr, c, os.Stderr); err != nil {
		return nil, errors.Wrap(err, "failed to print the trace")
	}
	return rb.Finalize()
}

func buildPlatform(ctx context.Context, bc *dockerui.Client, cfg *dappfile.Config, opt options, src *dockerui.Source, platform *ocispecs.Platform, epoch *time.Time, headErr *headTimeError, git *contextGit, bg *background, seeder *cacheSeeder) (*dockerui.BuildResult, error) {
	tr := tracerFrom(ctx)
	endPlan := tr.span(phasePlan)
	co := convertOpt(ctx, bc, opt, src, platform, git, bg)
	co.Epoch = epoch
	res, err := dappllb.Convert(ctx, cfg, co)
	if err != nil {
		return nil, err
	}
	if headErr != nil {
		return nil, headErr
	}
	endPlan(0, 0)
	endMarshal := tr.span(phaseMarshal)
	def, err := res.State.Marshal(ctx)
	if err != nil {
		return nil, errors.Wrap(err, "failed to marshal LLB definition")
	}
	pbDef := def.ToPB()
	endMarshal(int64(pbDef.SizeVT()), 0)
	if err := seeder.seed(ctx, res.CacheMounts); err != nil {
		return nil, err
	}
	// Evaluate: the build runs here rather than later in the exporter, so
	// a failing step's error comes back through the frontend, which names
	// the step and a missing secret's Dappfile entry.
	endSolve := tr.span(phaseSolve)
	r, err := bc.GatewayClient().Solve(ctx, gwclient.SolveRequest{
		Definition:   pbDef,
		CacheImports: bc.CacheImports,
		Evaluate:     true,
	})
	endSolve(0, 1)
	if err != nil {
		img, _ := dappllb.SelectTarget(cfg, bc.Target)
		return nil, explainMissingSecret(explainStep(err, def), cfg, img, src.SourceMap)
	}
	ref, err := r.SingleRef()
	if err != nil {
		return nil, err
	}
	// The epoch is the image's creation time and, through the result's
	// metadata, the exporter's: it clamps the history times to it and,
	// with rewrite-timestamp=true, the file times in the layers.
	if epoch != nil && res.Image != nil {
		res.Image.Created = epoch
	}
	return &dockerui.BuildResult{Reference: ref, Image: res.Image, BaseImage: res.BaseImage, Epoch: epoch}, nil
}
