package frontend

import (
	"context"
	"sync"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
)

// contextGit is the build context's .git for one build: solved once and
// read through one gateway reader, whose chunk cache keeps every byte read
// once, for werf's `.Commit`, SOURCE_DATE_EPOCH and the conversion of
// every platform.
//
// go-git's repositories are not safe for concurrent use (a pack file is
// one open file with one offset), and platforms convert at the same time:
// the readers before the conversions (.Commit, the epoch; one after the
// other) and the first conversion share one *gitsource.Repo, and any
// further conversion opens its own over the same reader, so it reads
// nothing the first one read already.
type contextGit struct {
	bc *dockerui.Client
	// helper is the frontend binary the read-ahead runs inside the build
	// with (readAheadInBuild); nil reads ahead through the gateway.
	helper func(context.Context) (bkllb.State, error)
	// ahead is set by willPrefetch: a read-ahead will run, so the reader
	// is born waiting for the one done inside the build.
	ahead bool
	// prefetching is set by willPrefetch: .git is transferred
	prefetching bool
	// spec is what speculateReadAhead started, or nil
	spec *aheadSpeculation
	// aheadState and aheadBlobs are the read-ahead's output and the blobs
	// it holds (keepBlobs), guarded by blobsMu: mu is held while .git is
	// opened, which waits for the read-ahead that sets them
	blobsMu    sync.Mutex
	aheadState bkllb.State
	aheadBlobs map[plumbing.Hash]bool

	fsOnce sync.Once
	fs     billy.Filesystem
	fsErr  error
	// ref is the solved .git, which prefetch reads through a reader of its own
	ref gwclient.Reference

	mu        sync.Mutex
	shared    *gitsource.Repo
	sharedErr error
	opened    bool
	// handedOut is true once a conversion owns shared.
	handedOut bool
}

func newContextGit(bc *dockerui.Client, helper func(context.Context) (bkllb.State, error)) *contextGit {
	return &contextGit{bc: bc, helper: helper}
}

// willPrefetch says that prefetch is about to run. Called before anything
// else reads .git, it lets the reader wait for the read-ahead done inside
// the build from its first read on: prefetch ends that wait in any case.
func (g *contextGit) willPrefetch() {
	g.ahead = g.helper != nil
	g.prefetching = true
}

// transfers reports whether .git is transferred in this build: prefetch
// solves it whenever the Dappfile may read it.
func (g *contextGit) transfers() bool { return g.prefetching }

// dotGitFS solves the context narrowed to .git once (it ignores
// .dockerignore, which often lists .git: only the files that git mappings
// select ever reach an image) and returns the reader over it.
func (g *contextGit) dotGitFS(ctx context.Context) (billy.Filesystem, error) {
	g.fsOnce.Do(func() {
		tr := tracerFrom(ctx)
		end := tr.span(phaseGit)
		defer end(0, 0)
		ref, err := g.solveDotGit(ctx)
		if err != nil {
			g.fsErr = err
			return
		}
		g.ref = ref
		rfs := newReaderFS(ctx, traceReader(tr, phaseGit, ref), ".git").(*readerFS)
		if g.ahead {
			rfs.beginLoad()
		}
		g.fs = rfs
	})
	return g.fs, g.fsErr
}

// solveDotGit is dotGit's state solved: by the speculation when there is
// one (dotGit's state is then the one it solved) and it did not fail,
// else now.
func (g *contextGit) solveDotGit(ctx context.Context) (gwclient.Reference, error) {
	if g.spec != nil {
		if ref, err := g.spec.dotGitRef(ctx); err == nil {
			return ref, nil
		}
	}
	st, err := dotGit(ctx, g.bc)
	if err != nil {
		return nil, err
	}
	return solveRef(ctx, g.bc.GatewayClient(), st)
}

func (g *contextGit) open(ctx context.Context) (*gitsource.Repo, error) {
	fs, err := g.dotGitFS(ctx)
	if err != nil {
		return nil, err
	}
	end := tracerFrom(ctx).span(phaseGit)
	defer end(0, 0)
	return gitsource.OpenFS(fs)
}

// repo is the shared repository for the readers that run one after the
// other before the conversions.
func (g *contextGit) repo(ctx context.Context) (*gitsource.Repo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.handedOut {
		// only the build's sequential readers come here, all before the
		// conversions; should one come later it must not share
		return g.open(ctx)
	}
	return g.sharedLocked(ctx)
}

// sharedLocked opens the shared repository on first use; g.mu is held.
func (g *contextGit) sharedLocked(ctx context.Context) (*gitsource.Repo, error) {
	if !g.opened {
		g.opened = true
		g.shared, g.sharedErr = g.open(ctx)
	}
	return g.shared, g.sharedErr
}

// forConversion is a repository one conversion owns: the shared one for
// the first, a new one over the same reader for every other.
func (g *contextGit) forConversion(ctx context.Context) (*gitsource.Repo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.handedOut {
		g.handedOut = true
		return g.sharedLocked(ctx)
	}
	return g.open(ctx)
}

// background runs the uncommitted-change checks beside the solve: one
// after another, on a repository of their own over the shared reader, with
// the build's context, since a platform's context ends with its
// conversion's group.
type background struct {
	g   *contextGit
	ctx context.Context
	wg  sync.WaitGroup
	// worktrees are the work trees the checks read
	worktrees *worktrees
	// bases are the base images the conversions resolve, started
	// early like the checks
	bases *baseImages

	// mu guards queued: the mappings whose check is queued
	mu     sync.Mutex
	queued map[*dappfile.GitMapping]bool
	// checking serialises the checks, which share repo
	checking sync.Mutex
	repo     *gitsource.Repo
	opened   bool
}

// start transfers the work trees of checks and queues the checks, before
// the conversion asks for them: they then run beside the reading of .git,
// the plan and the solve. warn reports what they find.
func (bg *background) start(checks []dappllb.WorktreeCheck, warn func([]dappfile.Warning)) {
	bg.worktrees.warm(bg.ctx, checks)
	for _, c := range checks {
		m := c.Mapping
		bg.run(m, func(ctx context.Context, repo *gitsource.Repo) {
			dappllb.CheckUncommitted(ctx, bg.worktrees.get, repo, m, warn)
		})
	}
}

func newBackground(ctx context.Context, g *contextGit, wts *worktrees, bases *baseImages) *background {
	return &background{g: g, ctx: ctx, worktrees: wts, bases: bases}
}

// run queues the check of m, unless m's check was queued already (by
// start, before the conversion, or by another platform's conversion).
func (bg *background) run(m *dappfile.GitMapping, check func(ctx context.Context, repo *gitsource.Repo)) {
	bg.mu.Lock()
	if bg.queued[m] {
		bg.mu.Unlock()
		return
	}
	if bg.queued == nil {
		bg.queued = map[*dappfile.GitMapping]bool{}
	}
	bg.queued[m] = true
	bg.mu.Unlock()
	bg.wg.Add(1)
	go func() {
		defer bg.wg.Done()
		bg.checking.Lock()
		defer bg.checking.Unlock()
		if !bg.opened {
			bg.opened = true
			bg.repo = bg.open()
		}
		check(bg.ctx, bg.repo)
	}()
}

// open returns nil when the repository cannot be read: the conversion
// reports that at the mapping, and the check says it could not compare.
func (bg *background) open() *gitsource.Repo {
	// the shared reader: what the conversion and prefetch read of .git
	// (HEAD's trees, the index) is in its cache already
	repo, err := bg.g.open(bg.ctx)
	if err != nil {
		return nil
	}
	return repo
}

// wait blocks until every check queued so far ran and every work tree
// transfer started ahead ended.
func (bg *background) wait() {
	bg.wg.Wait()
	bg.worktrees.wait()
	bg.bases.wait()
}
