package gitllb

import (
	"context"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// HelperBinary is where the frontend binary lives in its image, and so in
// any helper state.
const HelperBinary = "/dapp-frontend"

// Mount points of the git-export ExecOp. The root is an empty scratch:
// the helper is a static binary and needs nothing else.
const (
	helperMount = "/dapp-helper"
	gitMount    = "/dapp-git"
	outMount    = "/out"
	cacheMount  = "/dapp-blob-cache"
)

// blobCacheID names the helper's cache of blob contents (a
// gitsource.BlobCache). Dappfile cache IDs never start with "/" (see
// cachemounts), so no Dappfile step mounts it; a Dockerfile build on the
// same builder could, which is why the helper checks every entry it uses.
const blobCacheID = "/dapp-frontend/git-export/blobs"

// ExportEnv is what the exec-based path needs to run the git-export helper
// inside the build.
type ExportEnv struct {
	// DotGit holds the repository's .git directory at /.git: the same
	// local source the frontend reads the repository from, so the
	// context is transferred once.
	DotGit llb.State
	// Helper holds the frontend binary at HelperBinary.
	Helper llb.State
	// Platform is the platform the helper runs on (the worker's); nil
	// leaves it to the marshalling default.
	Platform *ocispecs.Platform
	// Batch, when set, gathers the exported steps of every point that
	// shares it into one ExecOp (see ExportBatch); nil gives each point
	// its own.
	Batch *ExportBatch
}

// exportActions emits the steps through the helper: per mapping step an
// ExecOp writes the added and modified files into a scratch mount, then
// the FileOp removes what the plan removes, creates the directories (as
// inline does, so `to`'s parents keep the image's owner) and copies the
// export into `to`. The layer still holds only the step's files, and the
// copy hashes content, so later stages are keyed by what was written, not
// by the ExecOp that wrote it.
func exportActions(steps []preparedStep, why exportReason, opt ApplyOpt) (*llb.FileAction, error) {
	if opt.Export == nil {
		return nil, why
	}
	env, err := opt.Export()
	if err != nil {
		why.setReason(err)
		return nil, why
	}
	return exportWith(steps, env, opt.Constraints)
}

func exportWith(steps []preparedStep, env ExportEnv, cos []llb.ConstraintsOpt) (*llb.FileAction, error) {
	if env.Batch == nil {
		// no build-wide batch: the point's steps share one ExecOp
		env.Batch = &ExportBatch{}
	}
	var fa *llb.FileAction
	var err error
	for _, ps := range steps {
		if fa, err = ps.exportChain(fa, env, cos); err != nil {
			return nil, err
		}
	}
	return fa, nil
}

func (ps preparedStep) exportChain(fa *llb.FileAction, env ExportEnv, cos []llb.ConstraintsOpt) (*llb.FileAction, error) {
	var err error
	writes := false
	for _, a := range ps.acts {
		if a.Kind == gitsource.ActMkfile || a.Kind == gitsource.ActSymlink {
			writes = true
			continue
		}
		if !utf8.ValidString(a.Rel) {
			if a.Kind == gitsource.ActMkdir {
				// the copy creates it, as the helper wrote it (0755)
				continue
			}
			var ok bool
			if fa, ok = rmNotUTF8(fa, ps.e.dest(a.Rel)); !ok {
				return nil, errors.Errorf("cannot remove %q (%s): its name is not valid UTF-8 and a directory above it has a glob character in its name", ps.e.dest(a.Rel), ps.step)
			}
			continue
		}
		if fa, err = ps.e.chain(fa, a); err != nil {
			return nil, err
		}
	}
	if !writes {
		return fa, nil
	}
	spec := ps.plan.ExportSpec(ps.step, ps.e.mtime)
	name := stepName(ps.plan, ps.step)
	stepEnv, err := env.narrowTo(ps.plan, spec, name, cos)
	if err != nil {
		return nil, err
	}
	out := env.Batch.add(stepEnv, spec, name, cos)
	ci := &llb.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true, ChownOpt: ps.e.chown, CreatedTime: &ps.e.mtime}
	src, dst := "/", ps.e.dest("")
	if ps.e.file != "" {
		// the export holds the one file under its name in the repository
		src, dst = "/"+ps.e.file, ps.e.dest(ps.e.file)
	}
	return chainCopy(fa, out, src, dst, ci), nil
}

// narrowTo is env with DotGit narrowed to the files of .git that hold
// what the export of spec reads (gitsource.ExportFiles): the packs and
// loose objects, copied by one FileOp beside a HEAD of its own. BuildKit
// keys that copy by the content of the files it selects, and git never
// rewrites an object file, so after a commit the copy, and the export
// step mounting it, stay cached for every step that does not read the
// commit's objects — mounting the whole .git reran them all. Steps that
// read the same files share one copy, and so one ExecOp. When narrowing
// cannot tell what the export reads (submodules, alternates, too many
// loose objects) the step mounts the whole .git.
func (env ExportEnv) narrowTo(p *gitsource.MappingPlan, spec gitsource.ExportSpec, name string, cos []llb.ConstraintsOpt) (ExportEnv, error) {
	files, ok, err := p.ExportFiles(spec)
	if err != nil || !ok {
		return env, err
	}
	env.DotGit = env.Batch.narrowed(env.DotGit, files, func() llb.State {
		return narrowedGit(env.DotGit, files, name, env.Platform, cos)
	})
	return env, nil
}

// narrowedGit is a .git at /.git holding files of dotgit (paths relative
// to its .git) and gitsource.NarrowHead. Packs are copied one by one;
// loose objects one copy per fan-out directory, selecting their names,
// so BuildKit hashes only the selected files and walks only those
// directories.
func narrowedGit(dotgit llb.State, files []string, name string, platform *ocispecs.Platform, cos []llb.ConstraintsOpt) llb.State {
	fa := llb.Mkdir("/.git/objects/pack", 0o755, llb.WithParents(true)).
		Mkfile("/.git/HEAD", 0o644, []byte(gitsource.NarrowHead))
	loose := map[string][]string{}
	var dirs []string
	packs, objs := 0, 0
	for _, f := range files {
		dir, base := path.Split(f)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "objects/pack" {
			fa = fa.Copy(dotgit, "/.git/"+f, "/.git/"+f)
			packs++
			continue
		}
		if _, ok := loose[dir]; !ok {
			dirs = append(dirs, dir)
		}
		loose[dir] = append(loose[dir], base)
		objs++
	}
	for _, dir := range dirs {
		fa = fa.Copy(dotgit, "/.git/"+dir, "/.git/"+dir, &llb.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true, IncludePatterns: loose[dir]})
	}
	ros := append([]llb.ConstraintsOpt{}, cos...)
	// after the callers' constraints, so this name wins
	ros = append(ros, llb.WithCustomNamef("git objects for %s: %d pack files, %d loose objects", name, packs, objs))
	if platform != nil {
		ros = append(ros, llb.Platform(*platform))
	}
	return llb.Scratch().File(fa, ros...)
}

// Bounds of one git-export ExecOp: its command line stays far below the
// kernel's argument limits (ARG_MAX, 128 KiB per string) and its mounts
// few; a batch that would cross either is split into several ExecOps, at
// points that depend only on the plan.
const (
	maxExecArgBytes = 64 << 10
	maxExecOutputs  = 32
)

// ExportBatch gathers the exported steps of one conversion, so the helper
// runs once per build (one container, one open of .git) with one output
// mount per step, rather than once per step. Each step's copy reads its
// own output, and the copy hashes content, so a stage after an unchanged
// step stays cached however the batch changed. The ExecOps are built when
// the definition is marshalled, from the steps added so far, in the order
// they were added (the conversion's, a function of the plan); a step added
// after that fails the marshal rather than being left out.
type ExportBatch struct {
	mu     sync.Mutex
	steps  []batchStep
	outs   []llb.State
	frozen bool
	// narrow holds the narrowed .git states by the files they hold
	narrow map[narrowKey]llb.State
}

// narrowed returns the narrowed .git of files of dotgit, made by mk the
// first time these files are asked for.
func (b *ExportBatch) narrowed(dotgit llb.State, files []string, mk func() llb.State) llb.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := narrowKey{dotgit: dotgit.Output(), files: strings.Join(files, "\n")}
	if st, ok := b.narrow[key]; ok {
		return st
	}
	st := mk()
	if b.narrow == nil {
		b.narrow = map[narrowKey]llb.State{}
	}
	b.narrow[key] = st
	return st
}

type narrowKey struct {
	dotgit llb.Output
	files  string
}

type batchStep struct {
	env  ExportEnv
	spec gitsource.ExportSpec
	name string
	cos  []llb.ConstraintsOpt
}

// add registers a step and returns the state of its output, resolved at
// marshal time.
func (b *ExportBatch) add(env ExportEnv, spec gitsource.ExportSpec, name string, cos []llb.ConstraintsOpt) llb.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frozen {
		return llb.Scratch().Async(func(context.Context, llb.State, *llb.Constraints) (llb.State, error) {
			return llb.State{}, errors.Errorf("git-export of %s was added after the build definition was marshalled", name)
		})
	}
	i := len(b.steps)
	b.steps = append(b.steps, batchStep{env: env, spec: spec, name: name, cos: cos})
	return llb.Scratch().Async(func(context.Context, llb.State, *llb.Constraints) (llb.State, error) {
		return b.output(i), nil
	})
}

func (b *ExportBatch) output(i int) llb.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.frozen {
		b.frozen = true
		for _, chunk := range b.chunks() {
			b.outs = append(b.outs, exportStates(chunk)...)
		}
	}
	return b.outs[i]
}

// chunks splits the steps into ExecOps within the bounds; steps of
// another environment (another .git or helper) start a new one.
func (b *ExportBatch) chunks() [][]batchStep {
	var out [][]batchStep
	var cur []batchStep
	size := 0
	for _, s := range b.steps {
		n := argsSize(s.spec.Args(gitMount+"/.git", outPath(len(cur)))) + argsSize([]string{"--blob-cache", cacheMount, "--"})
		if len(cur) > 0 && (size+n > maxExecArgBytes || len(cur) == maxExecOutputs || !sameEnv(cur[0].env, s.env)) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, s)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func sameEnv(a, b ExportEnv) bool {
	return a.DotGit.Output() == b.DotGit.Output() && a.Helper.Output() == b.Helper.Output() &&
		(a.Platform == b.Platform || (a.Platform != nil && b.Platform != nil && platforms.FormatAll(*a.Platform) == platforms.FormatAll(*b.Platform)))
}

func argsSize(args []string) int {
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	return n
}

func outPath(i int) string { return outMount + strconv.Itoa(i) }

// exportCommand is the helper's command line for steps: each step's
// arguments (gitsource.ExportSpec.Args), separated by "--".
func exportCommand(steps []batchStep) []string {
	args := []string{helperMount + HelperBinary, gitsource.ExportCommand}
	for i, s := range steps {
		if i > 0 {
			args = append(args, "--")
		}
		args = append(args, s.spec.Args(gitMount+"/.git", outPath(i))...)
		args = append(args, "--blob-cache", cacheMount)
	}
	return args
}

// exportStates runs the helper once for steps and returns each step's
// output mount. The command line is a function of the plan only (commits,
// patterns, mtimes), and the ExecOp has no network, no secrets and the
// default (root) user, so the same steps always give the same op. The
// steps' constraints (source locations, ignore-cache) all apply.
func exportStates(steps []batchStep) []llb.State {
	env := steps[0].env
	ros := []llb.RunOption{
		llb.Args(exportCommand(steps)),
		llb.Dir("/"),
		llb.AddMount(helperMount, env.Helper, llb.Readonly),
		llb.AddMount(gitMount, env.DotGit, llb.Readonly),
		// shared: entries are renamed into place and checked on use, so
		// concurrent helpers need no lock
		llb.AddMount(cacheMount, llb.Scratch(), llb.AsPersistentCacheDir(blobCacheID, llb.CacheMountShared)),
		llb.Network(llb.NetModeNone),
	}
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.name
		for _, c := range s.cos {
			ros = append(ros, c)
		}
	}
	// after the callers' constraints, so the helper's own name wins
	ros = append(ros, llb.WithCustomName("git-export: "+strings.Join(names, ", ")))
	if env.Platform != nil {
		ros = append(ros, llb.Platform(*env.Platform))
	}
	es := llb.Scratch().Run(ros...)
	outs := make([]llb.State, len(steps))
	for i := range steps {
		outs[i] = es.AddMount(outPath(i), llb.Scratch())
	}
	return outs
}
