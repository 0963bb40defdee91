package llb

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/flant/dapp-frontend/stages"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// GitOpt is how git mappings reach their sources.
type GitOpt struct {
	// Repo opens the build context's repository for local mappings; it is
	// called at most once per conversion, and only when a local mapping
	// needs it.
	Repo func(ctx context.Context) (*gitsource.Repo, error)
	// Resolver pins remote branches and tags to commits before the build.
	// Nil leaves them unpinned (the offline debug dump).
	Resolver sourceresolver.MetaResolver
	// Dev builds local mappings from the working tree (`--opt dev=true`)
	// instead of the committed state.
	Dev bool
	// Plan tunes the archive/patch rule (threshold, period); zero values
	// take gitsource's defaults.
	Plan gitsource.PlanOpt
	// Worktree returns the build context's work tree narrowed to include
	// and exclude, to warn about uncommitted changes the build leaves out.
	// Nil skips the check.
	Worktree func(ctx context.Context, include, exclude []string) (billy.Filesystem, error)
	// DotGit is the local source with the context's .git at /.git, the
	// one Repo reads; git steps too big to inline mount it into the
	// git-export helper. Nil leaves such steps failing.
	DotGit func(ctx context.Context) (bkllb.State, error)
	// Helper returns a state holding the frontend binary at
	// gitllb.HelperBinary; its error tells the user how to provide one.
	Helper func(ctx context.Context) (bkllb.State, error)
	// HelperPlatform is the platform the helper runs on.
	HelperPlatform *ocispecs.Platform
	// Background, when set, takes the uncommitted-change check of each
	// local mapping off the conversion: it is handed a func that the
	// caller runs later (while the build solves) with a repository of its
	// own, since go-git repositories are not safe for concurrent use, and
	// waits for before the build ends. Nil runs the check in line on the
	// conversion's repository.
	// m is the mapping checked: a caller that started its check already
	// (see UncommittedChecks) skips it.
	Background func(m *dappfile.GitMapping, check func(ctx context.Context, repo *gitsource.Repo))
	// ExportAbove is gitllb.ApplyOpt.ExportAbove: with a helper, points
	// bigger than it are written inside the build, not inlined. Zero
	// inlines up to gitllb.DefaultMaxInlineBytes.
	ExportAbove int64
	// ExportPatchesAbove, when bigger, is ExportAbove for the patches
	// (gitPatch, gitLatestPatch): a patch stays below the gitCache
	// threshold, and written inline it costs no container after a
	// commit, where the helper's ExecOp, and the copies before and after
	// it, cost more than the file data the definition then carries.
	ExportPatchesAbove int64
	// Blobs is gitllb.ApplyOpt.Blobs: states of the build that hold the
	// blobs of big files written inline.
	Blobs gitllb.BlobSource
}

// gitState is what an image's git stages share: the mappings with
// overlapping targets excluded, and the history plan of each local one.
type gitState struct {
	mappings []*dappfile.GitMapping
	plans    []*gitsource.MappingPlan
}

// applyGit puts git sources into the image. gitArchive holds the tree of
// every mapping (the archive commit's for local ones, the pinned checkout
// for remote ones); gitPatch, gitCache and gitLatestPatch add only what
// changed, as the history plan says. A point with nothing to add adds no
// vertex.
func (sb *stageBuilder) applyGit(ctx context.Context, st stages.Stage) error {
	gs, err := sb.gitState(ctx)
	if err != nil {
		return err
	}
	steps := gitsource.StepsAt(gs.plans, st)
	name := sb.vertexName(st.ID, "")
	if st.ID == stages.GitPatch {
		name = sb.vertexName(st.ID, "before "+string(st.User))
	}
	exportAbove := sb.b.opt.Git.ExportAbove
	if (st.ID == stages.GitPatch || st.ID == stages.GitLatestPatch) && sb.b.opt.Git.ExportPatchesAbove > exportAbove {
		exportAbove = sb.b.opt.Git.ExportPatchesAbove
	}
	next, err := gitllb.ApplySteps(sb.state, steps, gitllb.ApplyOpt{Constraints: sb.constraints(st, name), Export: sb.b.exportEnv(ctx), Budget: &sb.b.inlineBudget,
		ExportAbove: exportAbove, Blobs: sb.b.opt.Git.Blobs})
	if err != nil {
		return withLocation(sb.b.cfg, err, st.Ranges[0])
	}
	sb.addLayer(next, name)
	if st.ID == stages.GitArchive {
		return sb.copyWholeMappings(ctx, st, gs)
	}
	return nil
}

// exportEnv gives gitsource the exec-based path when the conversion can
// mount the context's .git; the helper is asked for only when a step
// needs it (once per conversion), so small repositories never depend on
// one.
func (b *builder) exportEnv(ctx context.Context) func() (gitllb.ExportEnv, error) {
	g := b.opt.Git
	if g.DotGit == nil {
		return nil
	}
	return func() (gitllb.ExportEnv, error) {
		if !b.exportDone {
			b.exportDone = true
			env, err := newExportEnv(ctx, g)
			b.export, b.exportErr = &env, err
		}
		return *b.export, b.exportErr
	}
}

func newExportEnv(ctx context.Context, g GitOpt) (gitllb.ExportEnv, error) {
	if g.Helper == nil {
		return gitllb.ExportEnv{}, errors.New("this conversion has no git-export helper")
	}
	helper, err := g.Helper(ctx)
	if err != nil {
		return gitllb.ExportEnv{}, err
	}
	dotgit, err := g.DotGit(ctx)
	if err != nil {
		return gitllb.ExportEnv{}, err
	}
	// one batch per conversion: every exported point of the build is
	// written by one run of the helper
	return gitllb.ExportEnv{DotGit: dotgit, Helper: helper, Platform: g.HelperPlatform, Batch: &gitllb.ExportBatch{}}, nil
}

// copyWholeMappings copies the mappings that have no history plan: remote
// ones (a pinned checkout) and, in dev mode, local ones (the working tree).
func (sb *stageBuilder) copyWholeMappings(ctx context.Context, st stages.Stage, gs *gitState) error {
	for _, m := range gs.mappings {
		if m.URL == "" && !sb.b.opt.Git.Dev {
			continue
		}
		src, err := sb.wholeSource(ctx, m)
		if err != nil {
			return withLocation(sb.b.cfg, err, m.Loc)
		}
		name := sb.vertexName(st.ID, mappingLabel(m))
		sb.addLayer(gitllb.CopyMapping(sb.state, src, m, sb.constraints(stages.Stage{Ranges: []dappfile.Range{m.Loc}}, name)...), name)
	}
	return nil
}

func (sb *stageBuilder) wholeSource(ctx context.Context, m *dappfile.GitMapping) (bkllb.State, error) {
	if m.URL == "" {
		if sb.b.opt.BuildContext == nil {
			return bkllb.State{}, errors.New("dev mode needs the build context, which this conversion does not have")
		}
		include, exclude := contextPatterns(m)
		return sb.b.opt.BuildContext(include, exclude)
	}
	if len(m.StageDependencies) > 0 {
		sb.b.warn([]dappfile.Warning{{Range: m.Loc, Message: fmt.Sprintf(
			"stageDependencies of remote git mapping %s are not tracked: the checkout is copied whole at gitArchive, so a new commit of its ref reruns install and every later stage", m.URL)}})
	}
	var commit string
	if r := sb.b.opt.Git.Resolver; r != nil {
		var err error
		if commit, err = gitllb.ResolveRemote(ctx, r, m, gitllb.RemoteOpt{}); err != nil {
			return bkllb.State{}, err
		}
	}
	return gitllb.RemoteSource(m, commit, gitllb.RemoteOpt{}), nil
}

// gitState plans the image's local mappings once, at its first git stage.
func (sb *stageBuilder) gitState(ctx context.Context) (*gitState, error) {
	if sb.git != nil {
		return sb.git, nil
	}
	ms, err := gitsource.WithAutoExcludes(sb.img.Git)
	if err != nil {
		return nil, err
	}
	gs := &gitState{mappings: ms}
	for _, m := range ms {
		if m.URL != "" || sb.b.opt.Git.Dev {
			continue
		}
		p, err := sb.b.planMapping(ctx, sb.img, m)
		if err != nil {
			return nil, withLocation(sb.b.cfg, err, m.Loc)
		}
		gs.plans = append(gs.plans, p)
		sb.b.warnUncommitted(ctx, m)
	}
	sb.git = gs
	return gs, nil
}

// planMapping cuts one local mapping's history into archive and patches.
func (b *builder) planMapping(ctx context.Context, img *dappfile.Image, m *dappfile.GitMapping) (*gitsource.MappingPlan, error) {
	repo, head, err := b.repo(ctx)
	if err != nil {
		return nil, err
	}
	opt := b.opt.Git.Plan
	opt.Artifact = img.Kind == dappfile.KindArtifact
	p, warnings, err := gitsource.Plan(repo, head, m, opt)
	b.warn(warnings)
	return p, err
}

// warnUncommitted tells the user which changes of the work tree a mapping
// leaves out: builds take HEAD's committed state. With GitOpt.Background
// the check runs beside the solve.
func (b *builder) warnUncommitted(ctx context.Context, m *dappfile.GitMapping) {
	if b.opt.Git.Worktree == nil {
		return
	}
	if bg := b.opt.Git.Background; bg != nil {
		bg(m, func(ctx context.Context, repo *gitsource.Repo) {
			CheckUncommitted(ctx, b.opt.Git.Worktree, repo, m, b.warn)
		})
		return
	}
	CheckUncommitted(ctx, b.opt.Git.Worktree, b.gitRepo, m, b.warn)
}

// CheckUncommitted compares the files of local mapping m in the work tree
// (worktree is GitOpt.Worktree) with HEAD of repo and warns about the
// differences. It needs no conversion, so a caller may run it before one
// (see UncommittedChecks) or after.
func CheckUncommitted(ctx context.Context, worktree func(ctx context.Context, include, exclude []string) (billy.Filesystem, error),
	repo *gitsource.Repo, m *dappfile.GitMapping, warn func([]dappfile.Warning)) {
	w := worktreeCheck(m)
	msg := ""
	wt, err := worktree(ctx, w.Include, w.Exclude)
	var files []string
	if err == nil && repo == nil {
		err = errors.New("the repository could not be opened")
	}
	if err == nil {
		files, err = repo.Uncommitted(wt, m)
	}
	switch {
	case err != nil:
		msg = fmt.Sprintf("could not compare the work tree of git mapping → %s with HEAD: %v", m.To, err)
	case len(files) > 0:
		var shown []string
		for _, f := range files[:min(len(files), 5)] {
			// a warning travels as a protobuf string: a git name that is
			// not UTF-8 is shown quoted (\xe9) instead of failing it
			if !utf8.ValidString(f) {
				f = strconv.Quote(f)
			}
			shown = append(shown, f)
		}
		if len(files) > 5 {
			shown = append(shown, fmt.Sprintf("and %d more", len(files)-5))
		}
		msg = fmt.Sprintf("git mapping → %s: %d uncommitted change(s) are not built (%s); the build takes HEAD's committed state, --opt dev=true builds the work tree",
			m.To, len(files), strings.Join(shown, ", "))
	default:
		return
	}
	warn([]dappfile.Warning{{Range: m.Loc, Message: msg}})
}

// repo opens the context's repository once per conversion.
func (b *builder) repo(ctx context.Context) (*gitsource.Repo, plumbing.Hash, error) {
	if b.gitRepo == nil && b.gitErr == nil {
		if b.opt.Git.Repo == nil {
			b.gitErr = errors.New("local git mappings need the build context's repository, which this conversion does not have")
		} else if b.gitRepo, b.gitErr = b.opt.Git.Repo(ctx); b.gitErr == nil {
			b.gitHead, b.gitErr = b.gitRepo.Head()
		}
	}
	return b.gitRepo, b.gitHead, b.gitErr
}

// contextPatterns narrows the build context transfer to the files a local
// mapping can use: everything under add (or just the include paths there),
// never .git.
func contextPatterns(m *dappfile.GitMapping) (include, exclude []string) {
	base := strings.TrimPrefix(path.Clean(m.Add), "/")
	switch {
	case len(m.IncludePaths) > 0:
		for _, p := range m.IncludePaths {
			include = append(include, path.Join(base, gitsource.CopyPattern(cleanRel(p))))
		}
	case base != "":
		include = []string{base}
	}
	for _, p := range m.ExcludePaths {
		exclude = append(exclude, path.Join(base, gitsource.CopyPattern(cleanRel(p))))
	}
	exclude = append(exclude, ".git")
	return include, exclude
}

// cleanRel is a pattern relative to add: dapp allows a leading slash.
func cleanRel(p string) string {
	return strings.TrimLeft(path.Clean("/"+p), "/")
}

func mappingLabel(m *dappfile.GitMapping) string {
	src := "context"
	if m.URL != "" {
		src = m.URL
	}
	return src + ":" + m.Add + " → " + m.To
}
