package llb

import (
	"context"
	"fmt"
	"slices"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/llb/gitllb"
	"github.com/flant/dapp-frontend/stages"
	"github.com/go-git/go-git/v5/plumbing"
	bkllb "github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// built is the final state of one image or artifact.
type built struct {
	state bkllb.State
	// values is the state that holds state's values (env, dir, platform):
	// the bottom of the fromDimg chain (see stageBuilder.values).
	values    bkllb.State
	image     *dockerspec.DockerOCIImage
	baseImage *dockerspec.DockerOCIImage
	// layers are the history entries of the layers the chain added on top
	// of image.History; noHistory says they are not to be written (see
	// stageBuilder.noHistory).
	layers    *layerEntry
	noHistory bool
	// afterStage is the state right after each user stage (werf's
	// `import[].stage`): an empty stage leaves the state before it.
	afterStage map[dappfile.StageName]bkllb.State
}

// inlineBudget keeps all git file data inlined by one build under BuildKit's
// 16 MiB definition message, with room for the rest of the graph.
const inlineBudget = 12 << 20

// builder converts images on demand and remembers each result, so an
// artifact imported by several images is one subgraph.
type builder struct {
	cfg      *dappfile.Config
	opt      ConvertOpt
	done     map[*dappfile.Image]*built
	visiting map[*dappfile.Image]bool
	// byName and roots keep the work linear in the number of images: a
	// file of thousands of images chained with fromDimg must not search
	// the list (or walk the chain) once per image and stage.
	byName map[string]*dappfile.Image
	roots  map[*dappfile.Image]string
	// The context's repository, opened on first use by a local mapping.
	gitRepo *gitsource.Repo
	gitHead plumbing.Hash
	gitErr  error
	// inlineBudget is the git file data the definition may still carry
	// inline; the rest goes through the git-export helper.
	inlineBudget int64
	// export is the git-export helper's environment, asked for once.
	export     *gitllb.ExportEnv
	exportErr  error
	exportDone bool
	// toolchains holds the toolchain image state per platform.
	toolchains map[string]bkllb.State
	// caches are the persistent cache mounts of the steps built so far.
	caches cacheSet
}

func newBuilder(cfg *dappfile.Config, opt ConvertOpt) *builder {
	byName := make(map[string]*dappfile.Image, len(cfg.Images))
	for _, img := range cfg.Images {
		// the first of a name wins, as a search of the list would find it
		if _, ok := byName[img.Name]; !ok {
			byName[img.Name] = img
		}
	}
	return &builder{cfg: cfg, opt: opt, done: map[*dappfile.Image]*built{}, visiting: map[*dappfile.Image]bool{},
		byName: byName, roots: map[*dappfile.Image]string{}, inlineBudget: inlineBudget, caches: cacheSet{}}
}

func (b *builder) lookup(name string) (*dappfile.Image, error) {
	if img, ok := b.byName[name]; ok {
		return img, nil
	}
	return nil, errors.Errorf("unknown dimg or artifact %q", name)
}

func (b *builder) build(ctx context.Context, img *dappfile.Image) (*built, error) {
	if out := b.done[img]; out != nil {
		return out, nil
	}
	// Validation rejects cycles; this guard keeps a model built by hand
	// from recursing forever.
	if b.visiting[img] {
		return nil, errors.Errorf("%s %q depends on itself", img.Kind, displayName(img))
	}
	b.visiting[img] = true
	defer delete(b.visiting, img)

	if img.Dockerfile != nil {
		out, err := b.buildDockerfile(ctx, img)
		if err != nil {
			return nil, err
		}
		b.done[img] = out
		return out, nil
	}
	sb := &stageBuilder{b: b, img: img}
	after := map[dappfile.StageName]bkllb.State{}
	for _, st := range stages.Chain(img) {
		snapshotBefore(after, st, sb.state)
		if err := sb.apply(ctx, st); err != nil {
			return nil, err
		}
	}
	for _, s := range dappfile.UserStages {
		if _, ok := after[s]; !ok {
			after[s] = sb.state
		}
	}
	out := &built{state: sb.state, values: sb.values, image: sb.image, baseImage: sb.baseImage, layers: sb.layers, noHistory: sb.noHistory, afterStage: after}
	b.done[img] = out
	return out, nil
}

// snapshotBefore records, before stage st is applied, the state after
// every user stage that st follows. A stage's own git patch belongs to
// it (werf applies it in the stage's container), the imports after it do
// not.
func snapshotBefore(after map[dappfile.StageName]bkllb.State, st stages.Stage, cur bkllb.State) {
	for _, s := range dappfile.UserStages {
		if _, ok := after[s]; !ok && stages.Follows(st, s) {
			after[s] = cur
		}
	}
}

// stageBuilder carries one image through its stage chain.
type stageBuilder struct {
	b     *builder
	img   *dappfile.Image
	state bkllb.State
	// values is the state right after the `from:` image of the chain's
	// bottom: it holds every value (env, dir, platform) the later states
	// carry, since stages add ops, never values. BuildKit looks a value up
	// by walking a state's ancestors, so an image built on another
	// restarts from values instead of the base's last state: otherwise
	// each op of a fromDimg chain walks all images below it, and a few
	// thousand chained images take quadratic time to marshal.
	values    bkllb.State
	image     *dockerspec.DockerOCIImage
	baseImage *dockerspec.DockerOCIImage
	// noHistory is set when the base's layers are not known one by one
	// (a named context without an image config, a base whose history
	// does not count its layers): the image then gets no history entries
	// of ours, and the exporter describes the layers as it always did.
	noHistory bool
	// layers are the history entries of the layers added on top of the
	// image's own history; images built on this one share them.
	layers *layerEntry
	// salt is fromCacheVersion: it must change every later step's key.
	salt []string
	// directives are the image's `mount:` entries as cache mounts, made
	// once, by the first user stage (directivesRead says it has run).
	directives     []cachemounts.Mount
	directivesRead bool
	// git is the image's git plan, made by its first git stage.
	git *gitState
}

// addMountPoints leaves the `mount:` targets as empty directories in the
// image, as dapp does: BuildKit removes the mount points it creates. The
// directives are read by the first user stage; without one there are none.
func (sb *stageBuilder) addMountPoints(st stages.Stage) {
	if len(sb.directives) == 0 {
		return
	}
	name := sb.vertexName(st.ID, "")
	sb.addLayer(withMountPoints(sb.state, sb.directives, sb.constraints(st, name)...), name)
}

// addLayer moves the chain to next and, when next is an op on top of the
// chain (one op, one layer), gives the layer its entry in the image's
// history, created by the vertex's name at the epoch. Left to itself the
// exporter describes each layer from the snapshot it has at hand: the
// step's command on the runner that ran it, "imported sha256:…" on a
// runner that took it from a registry cache, so one build would have as
// many image digests as runners. A state that adds no op (a git point with
// nothing to add) adds no entry.
func (sb *stageBuilder) addLayer(next bkllb.State, createdBy string) {
	added := next.Output() != sb.state.Output()
	sb.state = next
	if !added || sb.noHistory {
		return
	}
	sb.layers = &layerEntry{parent: sb.layers, history: ocispecs.History{Created: sb.b.opt.Epoch, CreatedBy: createdBy}}
}

// layerEntry is a list of history entries, newest first, that images
// built on one another share: a fromDimg chain of thousands of images
// must not copy a growing history once per image.
type layerEntry struct {
	parent  *layerEntry
	history ocispecs.History
}

// withHistory returns img with the entries of layers appended to its
// history, oldest first.
func withHistory(img *dockerspec.DockerOCIImage, layers *layerEntry) *dockerspec.DockerOCIImage {
	if img == nil || layers == nil {
		return img
	}
	var hs []ocispecs.History
	for l := layers; l != nil; l = l.parent {
		hs = append(hs, l.history)
	}
	slices.Reverse(hs)
	img.History = append(img.History, hs...)
	return img
}

// rootBase is the `from:` image at the bottom of img's fromDimg chain
// ("" when the chain is broken or loops). Every image of the chain
// remembers the answer, so each link is followed once per build.
func (b *builder) rootBase(img *dappfile.Image) string {
	var chain []*dappfile.Image
	root := ""
	for cur := img; ; {
		if r, ok := b.roots[cur]; ok {
			root = r
			break
		}
		if cur.From != "" {
			root = cur.From
			break
		}
		// a loop (validation rejects it; a model built by hand may not)
		if len(chain) > len(b.cfg.Images) {
			break
		}
		chain = append(chain, cur)
		base := cur.FromDimg
		if base == "" {
			base = cur.FromDimgArtifact
		}
		next, err := b.lookup(base)
		if err != nil {
			break
		}
		cur = next
	}
	for _, c := range chain {
		b.roots[c] = root
	}
	return root
}

func (b *builder) warn(ws []dappfile.Warning) {
	for _, w := range ws {
		if b.opt.Warn != nil {
			b.opt.Warn(w)
		}
	}
}

func (sb *stageBuilder) apply(ctx context.Context, st stages.Stage) error {
	switch st.Kind {
	case stages.KindFrom:
		return sb.applyFrom(ctx, st)
	case stages.KindUser:
		if len(st.Tasks) > 0 {
			return sb.applyAnsible(ctx, st)
		}
		return sb.applyUser(ctx, st)
	case stages.KindImports:
		return sb.applyImports(ctx, st)
	case stages.KindGit:
		return sb.applyGit(ctx, st)
	case stages.KindMountPoints:
		sb.addMountPoints(st)
		return nil
	case stages.KindDocker:
		return withLocation(sb.b.cfg, applyDocker(sb.image, sb.img.Docker), sb.img.Docker.Loc)
	}
	return errors.Errorf("unknown stage kind %d", st.Kind)
}

// vertexName is the progress line of a stage: "[app] install", or
// "[linux/arm64 app] install" in a multi-platform build.
func (sb *stageBuilder) vertexName(id stages.ID, detail string) string {
	name := fmt.Sprintf("[%s] %s", sb.namePrefix(displayName(sb.img)), id)
	if detail != "" {
		name += ": " + detail
	}
	return name
}

// namePrefix is what a step name starts with inside its brackets: the
// image (or the artifacts an import copies from), after the platform when
// the build has several.
func (sb *stageBuilder) namePrefix(what string) string {
	if !sb.b.opt.MultiPlatform {
		return what
	}
	return platforms.Format(sb.platform()) + " " + what
}

// constraints are the per-vertex options every op of a stage gets: its
// progress name, its Dappfile location and the no-cache switch.
func (sb *stageBuilder) constraints(st stages.Stage, name string) []bkllb.ConstraintsOpt {
	opts := []bkllb.ConstraintsOpt{bkllb.WithCustomName(name)}
	if loc := sb.b.location(st.Ranges); loc != nil {
		opts = append(opts, loc)
	}
	if sb.b.opt.IgnoreCache != nil && sb.b.opt.IgnoreCache(sb.img.Name) {
		opts = append(opts, bkllb.IgnoreCache)
	}
	return opts
}

// location maps Dappfile ranges onto the source map.
func (b *builder) location(ranges []dappfile.Range) bkllb.ConstraintsOpt {
	if b.opt.SourceMap == nil {
		return nil
	}
	pbr := PBRanges(ranges...)
	if len(pbr) == 0 {
		return nil
	}
	return b.opt.SourceMap.Location(pbr)
}
