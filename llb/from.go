package llb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// defaultPath is the PATH a scratch base gets, like the Dockerfile frontend.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func (sb *stageBuilder) applyFrom(ctx context.Context, st stages.Stage) error {
	sb.salt = st.CacheVersions
	img := sb.img
	base := img.FromDimg
	if base == "" {
		base = img.FromDimgArtifact
	}
	if base == "" {
		if err := sb.fromImage(ctx, img.From, st); err != nil {
			return err
		}
		sb.values = sb.state
		return nil
	}
	dep, err := sb.b.lookup(base)
	if err != nil {
		return withLocation(sb.b.cfg, err, img.FromLoc)
	}
	out, err := sb.b.build(ctx, dep)
	if err != nil {
		return err
	}
	sb.state = out.values.WithOutput(out.state.Output())
	sb.values = out.values
	sb.image = cloneImage(out.image)
	sb.baseImage = out.baseImage
	sb.noHistory = out.noHistory
	sb.layers = out.layers
	return nil
}

func (sb *stageBuilder) platform() ocispecs.Platform {
	if p := sb.b.opt.TargetPlatform; p != nil {
		return *p
	}
	return platforms.Normalize(platforms.DefaultSpec())
}

// fromImage starts the chain from an image reference: a named context
// when the user passed one, scratch, or the registry image pinned to the
// digest the resolver returned (so the LLB says exactly what was built).
func (sb *stageBuilder) fromImage(ctx context.Context, ref string, st stages.Stage) error {
	p := sb.platform()
	if nc := sb.b.opt.NamedContext; nc != nil {
		s, img, err := nc(ctx, ref, p)
		if err != nil {
			return withLocation(sb.b.cfg, err, sb.img.FromLoc)
		}
		if s != nil {
			sb.state = *s
			sb.image = cloneImage(img)
			if sb.image == nil {
				sb.image = emptyImage(p)
			}
			sb.baseImage = img
			// scratch (no output) has no layers to account for
			sb.noHistory = s.Output() != nil && (img == nil || !historyCountsLayers(img))
			sb.setImagePlatform(ref)
			return nil
		}
	}
	if ref == "scratch" {
		sb.state = bkllb.Scratch().Platform(p)
		sb.image = emptyImage(p)
		return nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return withLocation(sb.b.cfg, errors.Wrapf(err, "invalid base image %q", ref), sb.img.FromLoc)
	}
	named = reference.TagNameOnly(named)
	_, dgst, cfgBytes, err := sb.b.opt.ImageResolver.ResolveImageConfig(ctx, named.String(), sourceresolver.Opt{
		LogName:  sb.vertexName(stages.From, "load metadata for "+named.String()),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: sb.b.opt.ImageResolveMode},
	})
	if err != nil {
		return withLocation(sb.b.cfg, errors.Wrapf(err, "failed to resolve base image %q", ref), sb.img.FromLoc)
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(cfgBytes, &img); err != nil {
		return errors.Wrapf(err, "failed to parse the config of %q", ref)
	}
	pinned := named
	if dgst != "" {
		if c, err := reference.WithDigest(named, dgst); err == nil {
			pinned = c
		}
	}
	opts := []bkllb.ImageOption{bkllb.Platform(p)}
	// Images with the same base share this vertex, so its name is not
	// prefixed with one of them.
	for _, c := range sb.constraints(st, "from "+named.String()) {
		opts = append(opts, c)
	}
	s, err := bkllb.Image(pinned.String(), opts...).WithImageConfig(cfgBytes)
	if err != nil {
		return err
	}
	sb.state = s
	sb.baseImage = cloneImage(&img)
	sb.image = &img
	sb.noHistory = !historyCountsLayers(&img)
	sb.setImagePlatform(ref)
	return nil
}

// setImagePlatform makes the config say the platform the image is built
// for. With a target platform asked for (--platform), each manifest of a
// multi-platform index must name its own platform, whatever the base's
// config says, as BuildKit's Dockerfile frontend does. A registry serves
// a single-platform image for any platform asked, so a base whose config
// names another platform is built on as it is: its binaries are not the
// target's, which the warning at `from:` says (BuildKit's
// InvalidBaseImagePlatform). Without a target platform the base's own
// platform stays, filled in where its config has none.
func (sb *stageBuilder) setImagePlatform(ref string) {
	p := sb.platform()
	img := sb.image
	if sb.b.opt.TargetPlatform == nil {
		img.Platform = mergePlatform(img.Platform, p)
		return
	}
	same := img.OS == p.OS && img.Architecture == p.Architecture
	if !same && img.OS != "" && img.Architecture != "" {
		sb.b.warn([]dappfile.Warning{{Range: sb.img.FromLoc, Message: fmt.Sprintf(
			"base image %s is for %s, not for the target platform %s: its binaries are not the target's; "+
				"name an image that has a %s variant (a multi-platform index)",
			ref, platforms.Format(platforms.Normalize(img.Platform)), platforms.Format(p), platforms.Format(p))}})
	}
	img.OS, img.Architecture = p.OS, p.Architecture
	if p.Variant != "" || !same {
		img.Variant = p.Variant
	}
	if p.OSVersion != "" || !same {
		img.OSVersion = p.OSVersion
	}
	if p.OSFeatures != nil || !same {
		img.OSFeatures = slices.Clone(p.OSFeatures)
	}
	img.Platform = platforms.Normalize(img.Platform)
}

// historyCountsLayers reports whether img's history has one non-empty
// entry per layer, so that the entries of the layers added on top of it
// line up with them.
func historyCountsLayers(img *dockerspec.DockerOCIImage) bool {
	n := 0
	for _, h := range img.History {
		if !h.EmptyLayer {
			n++
		}
	}
	return n == len(img.RootFS.DiffIDs)
}

func emptyImage(p ocispecs.Platform) *dockerspec.DockerOCIImage {
	img := &dockerspec.DockerOCIImage{}
	img.Platform = p
	img.RootFS.Type = "layers"
	img.Config.Env = []string{defaultPath}
	return img
}

func mergePlatform(img, want ocispecs.Platform) ocispecs.Platform {
	if img.OS == "" || img.Architecture == "" {
		return want
	}
	return img
}

// cloneImage deep-copies a config so images built on one another never
// share slices or maps.
func cloneImage(img *dockerspec.DockerOCIImage) *dockerspec.DockerOCIImage {
	if img == nil {
		return nil
	}
	dt, err := json.Marshal(img)
	if err != nil {
		panic(err) // a config that was unmarshalled always marshals
	}
	var out dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &out); err != nil {
		panic(err)
	}
	return &out
}

// withLocation attaches a Dappfile range to a conversion error.
func withLocation(cfg *dappfile.Config, err error, r dappfile.Range) error {
	if err == nil || dappfile.IsLocationError(err) {
		return err
	}
	return &dappfile.LocationError{Ranges: []dappfile.Range{r}, Err: err}
}
