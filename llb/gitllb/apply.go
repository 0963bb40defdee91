package gitllb

import (
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/moby/buildkit/client/llb"
)

// DefaultMaxInlineBytes bounds the file data one step puts into the LLB
// definition. The whole definition travels in one gRPC message, which
// BuildKit caps at 16 MiB (containerd's defaults.DefaultMaxRecvMsgSize,
// also its maxBuildDefinitionSize), so all mappings and steps of a build
// must fit together; the caller keeps the sum in check. A point above it
// takes the exec-based path (ApplyOpt.Export), which inlines no file data.
const DefaultMaxInlineBytes = 8 << 20

// ApplyOpt tunes Apply.
type ApplyOpt struct {
	// MaxInlineBytes is DefaultMaxInlineBytes when 0.
	MaxInlineBytes int64
	// Constraints go on the FileOp after the default name, so a
	// llb.WithCustomName or a source location given here wins.
	Constraints []llb.ConstraintsOpt
	// Budget, when set, is the inline file data the rest of the build
	// definition may still carry; ApplySteps lowers the limit to it and
	// takes what it inlines off it, so all points of a build together stay
	// under the definition's message size.
	Budget *int64
	// Export gives the exec-based path what it needs. It is called for a
	// point with more than MaxInlineBytes of sources, whose point fails
	// with an *InlineLimitError when it is nil or errs, and, with
	// ExportAbove, to learn whether the helper is there at all.
	Export func() (ExportEnv, error)
	// Blobs, when set, gives the states that hold blobs of files written
	// inline (CopyBlobsFrom).
	Blobs BlobSource
	// ExportAbove, when positive, sends every point that writes more than
	// ExportAbove bytes or more than ExportAboveFiles files through the
	// exec-based path whenever Export gives a helper; only small points
	// (a commit's patch) travel inline. The build definition then carries
	// no unchanged file content, only commits and patterns, and deciding
	// reads no blob of a point with many files: their sizes are read only
	// when the count leaves the question open. Without a helper (Export
	// errs) points are inlined up to MaxInlineBytes as without it.
	ExportAbove int64
}

// BlobSource finds a blob's content in a state of the build, at
// BlobPath(h) there, or says it is not there.
type BlobSource func(h plumbing.Hash) (llb.State, bool)

// CopyBlobsFrom is the size from which a file written inline is copied
// from a state holding its blob (ApplyOpt.Blobs; the frontend's
// read-ahead writes the blobs of the newest commits), or from a FileOp of
// its own that writes the blob there when no state holds it, rather than
// written by a FileOp action carrying its content: the content then
// travels in the build definition only when no state holds it, and the
// layer is the same either way, as is its cache key, which BuildKit takes
// from the content the copy reads, not from where it comes from.
const CopyBlobsFrom = 16 << 10

// BlobPath is where a BlobSource's state holds blob h.
func BlobPath(h plumbing.Hash) string { return BlobsDir + "/" + h.String() }

// BlobsDir is the folder of a BlobSource's state that holds the blobs.
const BlobsDir = "/blobs"

// ExportAboveFiles is the file count above which ApplyOpt.ExportAbove
// exports a point without reading the sizes of its files.
const ExportAboveFiles = 64

// InlineLimitError says a step has more file data than can travel inline
// in the LLB definition, and the exec-based path is not available.
type InlineLimitError struct {
	Step  gitsource.PlanStep
	Bytes int64
	Limit int64
	// Reason says why the exec-based path could not take the step.
	Reason error
}

func (e *InlineLimitError) Error() string {
	msg := fmt.Sprintf("%s of git mapping holds %d bytes of sources, more than the %d bytes that can be sent inline in the build definition",
		e.Step.Kind, e.Bytes, e.Limit)
	if e.Reason != nil {
		msg += ": " + e.Reason.Error()
	}
	return msg
}

func (e *InlineLimitError) Unwrap() error { return e.Reason }

// exportReason is why a point takes the exec-based path; it is the error
// when the helper is not available, with the helper's error as Reason.
type exportReason interface {
	error
	setReason(error)
}

func (e *InlineLimitError) setReason(err error) { e.Reason = err }
func (e *NotUTF8Error) setReason(err error)     { e.Reason = err }

// Apply puts one step of plan p on top of base as a single FileOp: one
// vertex, so one layer that holds only the step's files, their directories
// and the removals. The stage code calls it at the step's point of the
// chain:
//
//	ArchiveStep()         gitArchive: after imports before install, before install
//	PatchBefore(stage)    right before that user stage (also when it has no commands)
//	CacheStep()           gitCache: after imports after setup (images only)
//	LatestPatchStep()     gitLatestPatch: right after gitCache (images only)
//
// Files get their git mode (0644 or 0755), directories 0755, everything
// the mapping's owner/group (names are resolved in base's /etc/passwd) and
// the committer time of step.To as mtime. When the step changes nothing,
// base is returned as is and no layer appears.
func Apply(base llb.State, p *gitsource.MappingPlan, step gitsource.PlanStep, opt ApplyOpt) (llb.State, error) {
	return ApplySteps(base, []gitsource.MappingStep{{Plan: p, Step: step}}, opt)
}

// ApplySteps is Apply for several mappings at the same point of the chain
// (e.g. the gitArchive of every mapping of an image): their actions form
// one FileOp, so the point adds one layer whatever the number of mappings.
// MaxInlineBytes applies to the total: above it the files are written by
// the git-export helper in an ExecOp (see ApplyOpt.Export) and copied in.
func ApplySteps(base llb.State, steps []gitsource.MappingStep, opt ApplyOpt) (llb.State, error) {
	limit := opt.MaxInlineBytes
	if limit == 0 {
		limit = DefaultMaxInlineBytes
	}
	if opt.Budget != nil && *opt.Budget < limit {
		limit = max(*opt.Budget, 0)
	}
	prepared, err := prepareSteps(steps)
	if err != nil || len(prepared) == 0 {
		return base, err
	}
	var fa *llb.FileAction
	var why exportReason
	if env, ok, err := exportAbove(prepared, opt); err != nil {
		return llb.State{}, err
	} else if ok {
		fa, err = exportWith(prepared, env, opt.Constraints)
		if err != nil {
			return llb.State{}, err
		}
		return base.File(fa, stepsConstraints(prepared, opt)...), nil
	}
	if err := sizeSteps(prepared); err != nil {
		return llb.State{}, err
	}
	if over := overLimit(prepared, limit); over != nil {
		why = over
	} else {
		for _, ps := range prepared {
			ps.e.blobs = opt.Blobs
		}
		warmData(prepared)
		if bad, err := notUTF8(prepared); err != nil {
			return llb.State{}, err
		} else if bad != nil {
			why = bad
		}
	}
	if why == nil {
		fa, err = inlineActions(prepared)
		if opt.Budget != nil {
			for _, ps := range prepared {
				*opt.Budget -= ps.bytes
			}
		}
	} else {
		fa, err = exportActions(prepared, why, opt)
	}
	if err != nil {
		return llb.State{}, err
	}
	return base.File(fa, stepsConstraints(prepared, opt)...), nil
}

// stepsConstraints names the point's FileOp after its steps; the caller's
// constraints come after, so a name given there wins.
func stepsConstraints(prepared []preparedStep, opt ApplyOpt) []llb.ConstraintsOpt {
	var names []string
	for _, ps := range prepared {
		names = append(names, stepName(ps.plan, ps.step))
	}
	return append([]llb.ConstraintsOpt{llb.WithCustomName(strings.Join(names, ", "))}, opt.Constraints...)
}

// exportAbove decides ApplyOpt.ExportAbove: ok when the helper is there
// and the point is big, by file count first (no blob is read) and by size
// only for a point with few files.
func exportAbove(steps []preparedStep, opt ApplyOpt) (ExportEnv, bool, error) {
	if opt.ExportAbove <= 0 || opt.Export == nil {
		return ExportEnv{}, false, nil
	}
	files := 0
	for _, ps := range steps {
		files += ps.files
	}
	if files == 0 {
		return ExportEnv{}, false, nil // removals and directories only
	}
	if files <= ExportAboveFiles {
		if err := sizeSteps(steps); err != nil {
			return ExportEnv{}, false, err
		}
		var total int64
		for _, ps := range steps {
			total += ps.bytes
		}
		if total <= opt.ExportAbove {
			return ExportEnv{}, false, nil
		}
	}
	env, err := opt.Export()
	if err != nil {
		// no helper (an in-process run): the inline path decides
		return ExportEnv{}, false, nil
	}
	return env, true, nil
}

// preparedStep is a mapping step that changes something, with its actions,
// how many files and symlinks they write and, once sizeSteps ran, the
// size of their data.
type preparedStep struct {
	plan  *gitsource.MappingPlan
	step  gitsource.PlanStep
	acts  []gitsource.Action
	e     *emitter
	files int
	bytes int64
	sized bool
}

func prepareSteps(steps []gitsource.MappingStep) ([]preparedStep, error) {
	var out []preparedStep
	for _, ms := range steps {
		p, step := ms.Plan, ms.Step
		acts, err := p.StepActions(step)
		if err != nil || len(acts) == 0 {
			if err != nil {
				return nil, err
			}
			continue
		}
		mtime, err := p.StepTime(step)
		if err != nil {
			return nil, err
		}
		ps := preparedStep{plan: p, step: step, acts: acts,
			e: &emitter{dest: p.Dest, file: p.File(), chown: ChownOpt(p.Mapping.Owner, p.Mapping.Group), mtime: mtime}}
		for _, a := range acts {
			if a.Kind == gitsource.ActMkfile || a.Kind == gitsource.ActSymlink {
				ps.files++
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// sizeSteps fills in the data size of every step. Sizes come from object
// headers: no blob is inflated, but each header is a read of the pack or
// of the object's file; those reads are made all at once first.
func sizeSteps(steps []preparedStep) error {
	var unsized []gitsource.Action
	for _, ps := range steps {
		if !ps.sized {
			unsized = append(unsized, ps.acts...)
		}
	}
	gitsource.WarmSizes(unsized)
	for i := range steps {
		ps := &steps[i]
		if ps.sized {
			continue
		}
		n, err := ps.e.dataSize(ps.acts)
		if err != nil {
			return err
		}
		ps.bytes, ps.sized = n, true
	}
	return nil
}

// overLimit returns nil when the steps fit inline, else the error naming
// the step that crosses the limit.
func overLimit(steps []preparedStep, limit int64) *InlineLimitError {
	var total int64
	var first *gitsource.PlanStep
	for i := range steps {
		total += steps[i].bytes
		if total > limit && first == nil {
			first = &steps[i].step
		}
	}
	if first == nil {
		return nil
	}
	return &InlineLimitError{Step: *first, Bytes: total, Limit: limit}
}

// warmData reads the content of steps all at once (gitsource.WarmData),
// where writing them one file after another would read it so: they are
// within the inline limit, so it is no more than that.
func warmData(steps []preparedStep) {
	var acts []gitsource.Action
	for _, ps := range steps {
		for _, a := range ps.acts {
			if _, ok := ps.e.heldBlob(a); !ok {
				acts = append(acts, a)
			}
		}
	}
	gitsource.WarmData(acts)
}

func inlineActions(steps []preparedStep) (*llb.FileAction, error) {
	var fa *llb.FileAction
	var err error
	for _, ps := range steps {
		for _, a := range ps.acts {
			if fa, err = ps.e.chain(fa, a); err != nil {
				return nil, err
			}
		}
	}
	return fa, nil
}

func stepName(p *gitsource.MappingPlan, step gitsource.PlanStep) string {
	switch step.Kind {
	case gitsource.StepArchive:
		return fmt.Sprintf("gitArchive %s at %s", p.Mapping.To, short(step.To))
	case gitsource.StepStagePatch:
		return fmt.Sprintf("git patch %s %s..%s before %s", p.Mapping.To, short(step.From), short(step.To), step.Stage)
	}
	return fmt.Sprintf("%s %s %s..%s", step.Kind, p.Mapping.To, short(step.From), short(step.To))
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// ChownOpt maps dapp's owner/group to a FileOp chown; an omitted group is
// the owner's group, an omitted owner is root. Names resolve against the
// destination's /etc/passwd and /etc/group. Artifact imports use it too, so
// both kinds of copy treat owner/group alike.
func ChownOpt(owner, group string) *llb.ChownOpt {
	var spec string
	switch {
	case owner == "" && group == "":
		return nil
	case group == "":
		spec = owner
	case owner == "":
		spec = "0:" + group
	default:
		spec = owner + ":" + group
	}
	co := llb.WithUser(spec).(llb.ChownOpt)
	return &co
}

type emitter struct {
	// dest places an action's Rel in the image (MappingPlan.Dest).
	dest func(rel string) string
	// file is the Rel of a file mapping's one file, "" for a directory.
	file  string
	chown *llb.ChownOpt
	mtime time.Time
	// blobs holds the blobs of big files, when set (CopyBlobsFrom)
	blobs BlobSource
}

// copied reports whether a writes a file big enough to be copied from a
// blob's state (CopyBlobsFrom).
func copied(a gitsource.Action) (bool, error) {
	if a.Kind != gitsource.ActMkfile {
		return false, nil
	}
	n, err := a.Size()
	return n >= CopyBlobsFrom, err
}

// heldBlob is the state of e.blobs holding a's blob, when a is copied and
// a state holds it: its content is then not read at all.
func (e *emitter) heldBlob(a gitsource.Action) (llb.State, bool) {
	if e.blobs == nil {
		return llb.State{}, false
	}
	if ok, err := copied(a); err != nil || !ok {
		return llb.State{}, false
	}
	return e.blobs(a.Blob())
}

// copyBlob writes a's file by copying its blob: from the state holding it,
// else from a FileOp that writes it where such a state would (the same
// path, mode and owner: the same content to BuildKit's cache key).
func (e *emitter) copyBlob(fa *llb.FileAction, a gitsource.Action, p string) (*llb.FileAction, error) {
	src, ok := e.heldBlob(a)
	if !ok {
		dt, err := a.Data()
		if err != nil {
			return nil, err
		}
		src = llb.Scratch().File(llb.Mkdir(BlobsDir, 0o755).Mkfile(BlobPath(a.Blob()), 0o644, dt),
			llb.WithCustomName("[internal] git blob "+a.Blob().String()))
	}
	ci := &llb.CopyInfo{Mode: &llb.ChmodOpt{Mode: a.Mode}, ChownOpt: e.chown, CreatedTime: &e.mtime, AlwaysReplaceExistingDestPaths: true}
	return chainCopy(fa, src, BlobPath(a.Blob()), p, ci), nil
}

// dataSize is what the file and symlink actions of acts write.
func (e *emitter) dataSize(acts []gitsource.Action) (int64, error) {
	var total int64
	for _, a := range acts {
		if a.Kind != gitsource.ActMkfile && a.Kind != gitsource.ActSymlink {
			continue
		}
		n, err := a.Size()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// chain appends a to fa (a new chain when fa is nil): the actions of one
// FileOp run in order, each on the result of the previous one.
func (e *emitter) chain(fa *llb.FileAction, a gitsource.Action) (*llb.FileAction, error) {
	p := e.dest(a.Rel)
	ct := llb.WithCreatedTime(e.mtime)
	switch a.Kind {
	case gitsource.ActRm:
		if fa == nil {
			return llb.Rm(p, llb.WithAllowNotFound(true)), nil
		}
		return fa.Rm(p, llb.WithAllowNotFound(true)), nil
	case gitsource.ActMkdir:
		if a.Rel == "" && e.file != "" {
			// a file mapping owns its file, not the directory it lands in
			return chainMkdir(fa, p, llb.WithParents(true), ct), nil
		}
		if a.Rel == "" && path.Dir(p) != "/" {
			// the directories above `to` belong to the image, not to the
			// mapping's owner: create them first, without chown
			fa = chainMkdir(fa, path.Dir(p), llb.WithParents(true), ct)
		}
		opts := []llb.MkdirOption{llb.WithParents(true), ct}
		if e.chown != nil {
			opts = append(opts, *e.chown)
		}
		return chainMkdirMode(fa, p, a.Mode, opts...), nil
	}
	if ok, err := copied(a); err != nil {
		return nil, err
	} else if ok {
		return e.copyBlob(fa, a, p)
	}
	dt, err := a.Data()
	if err != nil {
		return nil, err
	}
	if a.Kind == gitsource.ActSymlink {
		opts := []llb.SymlinkOption{ct}
		if e.chown != nil {
			opts = append(opts, *e.chown)
		}
		if fa == nil {
			return llb.Symlink(string(dt), p, opts...), nil
		}
		return fa.Symlink(string(dt), p, opts...), nil
	}
	opts := []llb.MkfileOption{ct}
	if e.chown != nil {
		opts = append(opts, *e.chown)
	}
	if fa == nil {
		return llb.Mkfile(p, a.Mode, dt, opts...), nil
	}
	return fa.Mkfile(p, a.Mode, dt, opts...), nil
}

func chainMkdir(fa *llb.FileAction, p string, opts ...llb.MkdirOption) *llb.FileAction {
	return chainMkdirMode(fa, p, gitsource.DirMode, opts...)
}

// chainCopy is fa followed by a copy of from in src to to, or that copy
// alone when fa is nil.
func chainCopy(fa *llb.FileAction, src llb.State, from, to string, ci *llb.CopyInfo) *llb.FileAction {
	if fa == nil {
		return llb.Copy(src, from, to, ci)
	}
	return fa.Copy(src, from, to, ci)
}

func chainMkdirMode(fa *llb.FileAction, p string, mode os.FileMode, opts ...llb.MkdirOption) *llb.FileAction {
	if fa == nil {
		return llb.Mkdir(p, mode, opts...)
	}
	return fa.Mkdir(p, mode, opts...)
}
