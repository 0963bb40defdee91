package gitsource

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/moby/buildkit/util/suggest"
	"github.com/pkg/errors"
)

// Defaults of PlanOpt.
const (
	// DefaultPatchThreshold is dapp's gitCache limit: once the change
	// accumulated since the last cut passes it, it becomes the gitCache layer.
	DefaultPatchThreshold = 1 << 20
	// DefaultPeriod is how long an archive lives: a new one starts with the
	// first commit of each week (UTC, weeks start on Monday).
	DefaultPeriod = 7 * 24 * time.Hour
	// DefaultMaxWalk bounds how many first-parent commits Plan reads.
	DefaultMaxWalk = 1000
)

// resetMarkers in a commit message force a fresh archive, as in dapp.
var resetMarkers = []string{"[dapp reset]", "[reset dapp]"}

// PlanOpt tunes Plan. The zero value gives dapp's behaviour for an image.
type PlanOpt struct {
	// Artifact drops gitCache and gitLatestPatch: an artifact's sources
	// change only through stageDependencies.
	Artifact bool
	// PatchThreshold is the gitCache limit in bytes (DefaultPatchThreshold
	// when 0).
	PatchThreshold int64
	// Period is the archive period (DefaultPeriod when 0, none when
	// negative: then only a reset commit or the root starts an archive).
	Period time.Duration
	// MaxWalk bounds the history walk (DefaultMaxWalk when 0).
	MaxWalk int
}

func (o PlanOpt) withDefaults() PlanOpt {
	if o.PatchThreshold == 0 {
		o.PatchThreshold = DefaultPatchThreshold
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.MaxWalk <= 0 {
		o.MaxWalk = DefaultMaxWalk
	}
	return o
}

// StepKind says where in the stage chain a PlanStep goes.
type StepKind int

const (
	// StepArchive is the gitArchive stage: the whole tree, before install.
	StepArchive StepKind = iota
	// StepStagePatch goes right before the user stage PlanStep.Stage.
	StepStagePatch
	// StepCache is the gitCache stage, after the imports after setup.
	StepCache
	// StepLatestPatch is the gitLatestPatch stage, right after gitCache.
	StepLatestPatch
)

func (k StepKind) String() string {
	switch k {
	case StepArchive:
		return "gitArchive"
	case StepStagePatch:
		return "patch"
	case StepCache:
		return "gitCache"
	case StepLatestPatch:
		return "gitLatestPatch"
	}
	return fmt.Sprintf("StepKind(%d)", int(k))
}

// PlanStep is one layer of a mapping: the tree at To (archive) or the
// change From → To (every other kind).
type PlanStep struct {
	Kind StepKind
	// Stage is the user stage a StepStagePatch precedes.
	Stage dappfile.StageName
	// From is zero for StepArchive.
	From plumbing.Hash
	To   plumbing.Hash
}

// MappingPlan is where one git mapping's layers are cut. Steps holds them
// in chain order; the accessors pick the one for a given point of the chain.
type MappingPlan struct {
	Mapping *dappfile.GitMapping
	Head    plumbing.Hash
	// Anchor is the archive commit.
	Anchor plumbing.Hash
	Steps  []PlanStep
	// Walked is how many commits the history walk read.
	Walked int

	view *view
}

// ArchiveStep returns the gitArchive step; it always exists.
func (p *MappingPlan) ArchiveStep() PlanStep { return p.Steps[0] }

// PatchBefore returns the patch to apply right before the user stage s.
func (p *MappingPlan) PatchBefore(s dappfile.StageName) (PlanStep, bool) {
	return p.find(func(st PlanStep) bool { return st.Kind == StepStagePatch && st.Stage == s })
}

// CacheStep returns the gitCache step, if the accumulated change ever
// passed the threshold.
func (p *MappingPlan) CacheStep() (PlanStep, bool) {
	return p.find(func(st PlanStep) bool { return st.Kind == StepCache })
}

// LatestPatchStep returns the gitLatestPatch step, if anything changed
// after the last cut.
func (p *MappingPlan) LatestPatchStep() (PlanStep, bool) {
	return p.find(func(st PlanStep) bool { return st.Kind == StepLatestPatch })
}

func (p *MappingPlan) find(fn func(PlanStep) bool) (PlanStep, bool) {
	for _, st := range p.Steps {
		if fn(st) {
			return st, true
		}
	}
	return PlanStep{}, false
}

// Plan decides where the layers of a local git mapping are cut, reading
// only the repository's history (no BuildKit). The result is a function of
// the history and the mapping alone, so every machine gets the same LLB.
//
// The rule, over HEAD's first-parent chain:
//
//  1. Anchor. Walk back from HEAD (inclusive) to the newest commit that
//     starts an archive period: a commit whose message contains
//     "[dapp reset]" or "[reset dapp]", a root commit, or the first commit
//     of a period — its committer date falls in another period (week, UTC,
//     Monday first) than its first parent's. The oldest commit of a shallow
//     clone counts as a root (with a warning). The walk reads at most MaxWalk
//     commits; when no start is found, the oldest commit read is the anchor
//     and a warning says the archive will move with every new commit. The
//     gitArchive layer is the mapping's tree at the anchor.
//  2. Stage patches. For install, beforeSetup, setup (and buildArtifact)
//     in this order, the stage's pin is the newest commit in (anchor, HEAD]
//     whose first-parent diff touches one of the stage's dependency files,
//     or the anchor when none does; a pin is never older than the previous
//     stage's. When a pin is newer than the point reached so far, a patch
//     (point → pin) goes right before that stage, so the stage sees every
//     file as of its pin, and its dependency files as of HEAD.
//  3. Tail (images only). From the last point P walk forward to HEAD,
//     measuring the mapping's net change since the last cut: the size of
//     every added or modified file plus 512 bytes per changed path (a tar
//     header). When it passes PatchThreshold, that commit becomes the cut
//     and measuring restarts. gitCache is the change P → last cut;
//     gitLatestPatch is last cut → the newest commit that changed the
//     mapping, absent when nothing changed since the cut.
//
// A commit added on top moves none of the points unless it starts a period
// or carries a reset marker (new anchor), changes a stage's dependency
// files (new pin), passes the threshold (new cut) or changes the mapping
// (new latest patch). Only the mapping's files count: add, includePaths
// and excludePaths filter every diff.
//
// Trade-offs: a new period re-ships the whole tree and reruns install
// (once a week by default; PlanOpt.Period tunes it). gitCache is one layer,
// as in dapp, so each cut re-ships everything since the last stage point.
// The latest patch holds the change since the last cut, so a commit of K
// bytes adds a layer of K bytes plus what accumulated since that cut
// (under PatchThreshold). The walk costs one tree diff per commit of the
// period, with unchanged subtrees skipped by hash.
func Plan(repo *Repo, head plumbing.Hash, m *dappfile.GitMapping, opt PlanOpt) (*MappingPlan, []dappfile.Warning, error) {
	opt = opt.withDefaults()
	kind, near, err := repo.addKindAt(head, m.Add)
	if err != nil {
		return nil, nil, err
	}
	switch kind {
	case addMissing:
		err := errors.Errorf("git mapping add %q does not exist at commit %s", m.Add, head)
		return nil, nil, suggest.WrapError(err, cleanAdd(m.Add), near, true)
	case addSubmodule:
		return nil, nil, errors.Errorf("git mapping add %q is a submodule at commit %s: add the directory that holds it "+
			"(its files are taken at the commit the superproject records)", m.Add, head)
	}
	if kind == addFile && (m.To == "" && strings.HasSuffix(m.Add, "/") || strings.HasSuffix(m.To, "/")) {
		return nil, nil, errors.Errorf("git mapping add %q is a file at commit %s, so `to` is the file's path in the image, not a directory: "+
			"write the path with the file's name, e.g. %q", m.Add, head, path.Join("/", m.To, path.Base(m.Add)))
	}
	v, err := newView(repo, m.Add, m.IncludePaths, m.ExcludePaths, kind == addFile)
	if err != nil {
		return nil, nil, err
	}
	pl := &planner{repo: repo, view: v, m: m, opt: opt}
	return pl.plan(head)
}

type planner struct {
	repo *Repo
	view *view
	m    *dappfile.GitMapping
	opt  PlanOpt

	chain    []*object.Commit // chain[0] is the anchor, the last is HEAD
	trees    []node
	diffs    [][]change // diffs[i]: chain[i-1] → chain[i]; diffs[0] is empty
	warnings []dappfile.Warning
}

func (pl *planner) warnf(format string, args ...any) {
	pl.warnings = append(pl.warnings, dappfile.Warning{Range: pl.m.Loc, Message: fmt.Sprintf(format, args...)})
}

func (pl *planner) plan(head plumbing.Hash) (*MappingPlan, []dappfile.Warning, error) {
	if err := pl.walk(head); err != nil {
		return nil, nil, err
	}
	if err := pl.loadDiffs(); err != nil {
		return nil, nil, err
	}
	if err := pl.checkHead(); err != nil {
		return nil, nil, err
	}
	p := &MappingPlan{
		Mapping: pl.m,
		Head:    head,
		Anchor:  pl.chain[0].Hash,
		Walked:  len(pl.chain),
		view:    pl.view,
	}
	p.Steps = append(p.Steps, PlanStep{Kind: StepArchive, To: pl.chain[0].Hash})
	point, err := pl.stagePatches(p)
	if err != nil {
		return nil, nil, err
	}
	if !pl.opt.Artifact {
		if err := pl.tail(p, point); err != nil {
			return nil, nil, err
		}
	}
	return p, pl.warnings, nil
}

// walk fills chain from HEAD back to the anchor.
func (pl *planner) walk(head plumbing.Hash) error {
	c, err := pl.repo.commit(head)
	if err != nil {
		return err
	}
	shallow, err := pl.repo.shallow()
	if err != nil {
		return err
	}
	chain := []*object.Commit{c}
	for {
		if ArchiveStart(c) {
			break
		}
		if shallow[c.Hash] {
			pl.warnf("the repository is a shallow clone: the archive starts at its oldest commit and moves when the clone depth does; " +
				"fetch the history of the current week at least (e.g. fetch-depth: 0)")
			break
		}
		parent, err := pl.repo.commit(c.ParentHashes[0])
		if err != nil {
			return err
		}
		if pl.opt.NewPeriod(c, parent) {
			break
		}
		if len(chain) >= pl.opt.MaxWalk {
			pl.warnf("no archive start (a new week, a root or a [dapp reset] commit) within %d commits of HEAD: "+
				"the archive moves with every commit; add a commit with [dapp reset] in its message", pl.opt.MaxWalk)
			break
		}
		c = parent
		chain = append(chain, c)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	pl.chain = chain
	return nil
}

// ArchiveStart reports whether c starts an archive whatever its parent:
// its message carries a reset marker or it is a root. With NewPeriod it
// is the rule of Plan's walk, which the frontend's read-ahead of .git
// follows too.
func ArchiveStart(c *object.Commit) bool { return hasResetMarker(c.Message) || c.NumParents() == 0 }

// NewPeriod reports whether c starts an archive period of o: parent, its
// first parent, lies in another one.
func (o PlanOpt) NewPeriod(c, parent *object.Commit) bool {
	o = o.withDefaults()
	return o.Period > 0 && period(c, o.Period) != period(parent, o.Period)
}

func hasResetMarker(msg string) bool {
	for _, m := range resetMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// mondayOffset shifts Unix time so that periods of whole weeks start on a
// Monday (1970-01-01 was a Thursday).
const mondayOffset = 3 * 24 * time.Hour

func period(c *object.Commit, d time.Duration) int64 {
	t := c.Committer.When.UTC().Add(mondayOffset).UnixNano()
	p := t / int64(d)
	if t < 0 && t%int64(d) != 0 {
		p--
	}
	return p
}

func (pl *planner) loadDiffs() error {
	pl.trees = make([]node, len(pl.chain))
	pl.diffs = make([][]change, len(pl.chain))
	for i, c := range pl.chain {
		t, err := pl.view.tree(c)
		if err != nil {
			return err
		}
		pl.trees[i] = t
		if i == 0 {
			continue
		}
		if pl.diffs[i], err = pl.view.diff(pl.trees[i-1], t); err != nil {
			return err
		}
	}
	return nil
}

// checkHead fails when add is missing at HEAD and warns about what HEAD's
// tree cannot satisfy: unreadable submodules and dependency globs that
// match nothing.
func (pl *planner) checkHead() error {
	headIdx := len(pl.chain) - 1
	t := pl.trees[headIdx]
	if t.t == nil {
		// Plan checked add at HEAD before building the view
		return errors.Errorf("git mapping add %q does not exist at commit %s", pl.m.Add, pl.chain[headIdx].Hash)
	}
	files, err := pl.view.files(t)
	if err != nil {
		return err
	}
	// after the walks of HEAD and of every diff of the chain: a submodule
	// that any layer needs and the build cannot read is named here
	for _, w := range pl.view.leftOutWarnings() {
		pl.warnf("%s", w)
	}
	for stage, globs := range pl.m.StageDependencies {
		if stages.BeforeGitArchive(stage) {
			pl.warnf("stageDependencies.%s is ignored: %s runs before gitArchive", stage, stage)
			continue
		}
		for _, g := range globs {
			p, err := compilePattern(g)
			if err != nil {
				return errors.Wrapf(err, "stageDependencies.%s", stage)
			}
			if !anyFileMatches(p, files) {
				pl.warnf("stageDependencies.%s: %q matches no file of the mapping", stage, g)
			}
		}
	}
	sortWarnings(pl.warnings)
	return nil
}

func anyFileMatches(p pattern, files []entry) bool {
	for _, f := range files {
		if p.match(f.Rel) {
			return true
		}
	}
	return false
}

// stagePatches adds the patches before user stages and returns the index
// of the last point reached.
func (pl *planner) stagePatches(p *MappingPlan) (int, error) {
	point, pin := 0, 0
	kind := dappfile.KindImage
	if pl.opt.Artifact {
		kind = dappfile.KindArtifact
	}
	// the stages that may declare stageDependencies, in build order
	for _, s := range stages.GitPatchTargets(kind) {
		globs := pl.m.StageDependencies[s]
		if len(globs) == 0 {
			continue
		}
		pats, err := compilePatterns(globs)
		if err != nil {
			return 0, errors.Wrapf(err, "stageDependencies.%s", s)
		}
		pin = max(pin, pl.lastTouch(pats))
		if pin > point {
			p.Steps = append(p.Steps, PlanStep{
				Kind: StepStagePatch, Stage: s,
				From: pl.chain[point].Hash, To: pl.chain[pin].Hash,
			})
			point = pin
		}
	}
	return point, nil
}

// lastTouch returns the index of the newest commit whose diff touches a
// file matched by pats, or 0.
func (pl *planner) lastTouch(pats []pattern) int {
	for i := len(pl.chain) - 1; i > 0; i-- {
		for _, c := range pl.diffs[i] {
			if matchAny(pats, c.Rel) {
				return i
			}
		}
	}
	return 0
}

// tail adds gitCache and gitLatestPatch after the point with index from.
func (pl *planner) tail(p *MappingPlan, from int) error {
	cut, last := from, -1
	acc := newAccumulator()
	for i := from + 1; i < len(pl.chain); i++ {
		if len(pl.diffs[i]) == 0 {
			continue
		}
		size, err := acc.add(pl.diffs[i])
		if err != nil {
			return err
		}
		last = i
		if size > pl.opt.PatchThreshold {
			cut = i
			acc = newAccumulator()
		}
	}
	if cut > from {
		p.Steps = append(p.Steps, PlanStep{Kind: StepCache, From: pl.chain[from].Hash, To: pl.chain[cut].Hash})
	}
	if last > cut && !acc.empty() {
		p.Steps = append(p.Steps, PlanStep{Kind: StepLatestPatch, From: pl.chain[cut].Hash, To: pl.chain[last].Hash})
	}
	return nil
}

// StepsAt collects the steps of several mappings that go at the git stage
// st of the chain, ready for gitllb.ApplySteps: gitArchive, gitCache and
// gitLatestPatch take the step of that kind; a gitPatch stage takes the
// patches before its user stage. Mappings without such a step are skipped.
func StepsAt(plans []*MappingPlan, st stages.Stage) []MappingStep {
	kind, ok := stepKinds[st.ID]
	if !ok {
		return nil
	}
	var out []MappingStep
	for _, p := range plans {
		for _, step := range p.Steps {
			if step.Kind == kind && (kind != StepStagePatch || step.Stage == st.User) {
				out = append(out, MappingStep{Plan: p, Step: step})
			}
		}
	}
	return out
}

// stepKinds is the step kind each git stage takes.
var stepKinds = map[stages.ID]StepKind{
	stages.GitArchive:     StepArchive,
	stages.GitPatch:       StepStagePatch,
	stages.GitCache:       StepCache,
	stages.GitLatestPatch: StepLatestPatch,
}

// File is the name of the one file a mapping whose add names a file adds:
// the Rel of its actions and its name in the git-export output. It is ""
// for a directory mapping.
func (p *MappingPlan) File() string { return p.view.file }

// Dest is the path in the image of an action's Rel. A directory mapping
// puts Rel below `to`. A file mapping puts its file at `to` itself (the
// name there renames it), and Rel "" is the directory `to` lies in, which
// belongs to the image, not to the mapping.
func (p *MappingPlan) Dest(rel string) string {
	to := path.Join("/", p.Mapping.To)
	if p.Mapping.To == "" {
		to = path.Join("/", p.Mapping.Add)
	}
	if p.view.file == "" {
		return path.Join(to, rel)
	}
	if rel == p.view.file {
		return to
	}
	return path.Join(path.Dir(to), rel)
}
