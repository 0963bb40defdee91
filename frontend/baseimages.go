package frontend

import (
	"context"
	"encoding/json"
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
	n := b.named.get(ref+"\x00"+platforms.FormatAll(platforms.Normalize(p)), func() namedBase {
		nc, err := b.bc.NamedContext(ref, dockerui.ContextOpt{Platform: &p, ResolveMode: b.bc.ImageResolveMode.String()})
		if err != nil || nc == nil {
			return namedBase{err: err}
		}
		st, img, err := nc.Load(ctx)
		return namedBase{st: st, img: img, err: err}
	})
	return n.st, n.img, n.err
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
	targets := b.bc.TargetPlatforms
	if len(targets) == 0 {
		targets = []ocispecs.Platform{platforms.Normalize(platforms.DefaultSpec())}
	}
	for _, img := range imgs {
		if img.From == "" || img.From == "scratch" {
			continue
		}
		for _, p := range targets {
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
