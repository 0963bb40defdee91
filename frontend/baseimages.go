package frontend

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// baseImages resolves the `from:` images of one build once per image and
// platform: named contexts (dockerui) and registry images (the gateway's
// resolver). warm starts those of the target and what it builds on as
// soon as the Dappfile is read, so the registry's round trips overlap
// the reading of .git and the plan instead of following them; the
// conversion then finds them resolved. Only the progress name of a
// registry lookup differs from the conversion's own.
type baseImages struct {
	bc       *dockerui.Client
	resolver sourceresolver.ImageMetaResolver

	named    onceMap[namedBase]
	resolved onceMap[resolvedBase]
	wg       sync.WaitGroup
}

type namedBase struct {
	st  *bkllb.State
	img *dockerspec.DockerOCIImage
	err error
}

type resolvedBase struct {
	ref    string
	dgst   digest.Digest
	config []byte
	err    error
}

func newBaseImages(bc *dockerui.Client) *baseImages {
	return &baseImages{bc: bc, resolver: bc.GatewayClient()}
}

// namedContext is ConvertOpt.NamedContext: the named context that
// replaces ref on platform p, nil when there is none.
func (b *baseImages) namedContext(ctx context.Context, ref string, p ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error) {
	n := b.named.get(contextName(ref)+"\x00"+platforms.FormatAll(platforms.Normalize(p)), func() namedBase {
		nc, err := b.bc.NamedContext(ref, dockerui.ContextOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()})
		if err != nil || nc == nil {
			return namedBase{err: err}
		}
		st, img, err := nc.Load(ctx)
		return namedBase{st: st, img: img, err: err}
	})
	return n.st, n.img, n.err
}

// contextName is the name dockerui looks ref's named context up by (the
// familiar reference, ":latest" trimmed), so that `from: busybox` and
// `from: busybox:latest` share one resolution, and warmNamedImages's with
// them. A name that does not parse is its own.
func contextName(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return strings.TrimSuffix(reference.FamiliarString(named), ":latest")
}

// warmNamedImages resolves, from the start of the build, the named
// contexts the options make registry images (`context:NAME=docker-image://REF`,
// what `--build-context NAME=docker-image://REF` sends) for every target
// platform: a Dappfile's `from:` names them, and their registry round
// trips are then done before the conversion asks, not inside it (on a
// no-op, the conversion waited 11 ms for debian:bookworm's). Other
// kinds (a local directory, git, an OCI layout) would transfer or fetch
// what the Dappfile may not use; they resolve when asked. A context the
// Dappfile does not use costs one registry lookup.
func (b *baseImages) warmNamedImages(ctx context.Context) {
	names := map[string]bool{}
	for k, v := range b.bc.BuildOpts().Opts {
		name, ok := strings.CutPrefix(k, "context:")
		if !ok || !strings.HasPrefix(v, "docker-image://") {
			continue
		}
		// context:NAME::PLATFORM is NAME's context for one platform:
		// dockerui picks it when NAME is asked for that platform
		name, _, _ = strings.Cut(name, "::")
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		for _, p := range b.targetPlatforms() {
			b.wg.Go(func() { _, _, _ = b.namedContext(ctx, name, p) })
		}
	}
}

func (b *baseImages) targetPlatforms() []ocispecs.Platform {
	if len(b.bc.TargetPlatforms) == 0 {
		return []ocispecs.Platform{platforms.Normalize(platforms.DefaultSpec())}
	}
	return b.bc.TargetPlatforms
}

// ResolveImageConfig is the gateway's, once per reference and options
// (the progress name aside).
func (b *baseImages) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	keyOpt := opt
	keyOpt.LogName = ""
	k, err := json.Marshal(keyOpt)
	if err != nil {
		return b.resolver.ResolveImageConfig(ctx, ref, opt)
	}
	r := b.resolved.get(ref+"\x00"+string(k), func() resolvedBase {
		var r resolvedBase
		r.ref, r.dgst, r.config, r.err = b.resolver.ResolveImageConfig(ctx, ref, opt)
		return r
	})
	return r.ref, r.dgst, r.config, r.err
}

// warm resolves the `from:` images of imgs for every target platform in
// the background; errors stay for the conversion, which reports them
// at the image's `from`.
func (b *baseImages) warm(ctx context.Context, imgs []*dappfile.Image) {
	for _, img := range imgs {
		if img.From == "" || img.From == "scratch" {
			continue
		}
		for _, p := range b.targetPlatforms() {
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				st, _, err := b.namedContext(ctx, img.From, p)
				if err != nil || st != nil {
					return
				}
				named, err := reference.ParseNormalizedNamed(img.From)
				if err != nil {
					return
				}
				named = reference.TagNameOnly(named)
				_, _, _, _ = b.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
					LogName:  "[internal] load metadata for " + named.String(),
					ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()},
				})
			}()
		}
	}
}

// wait blocks until what warm started is done.
func (b *baseImages) wait() { b.wg.Wait() }

var _ sourceresolver.ImageMetaResolver = (*baseImages)(nil)
