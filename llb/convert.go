// Package llb assembles the BuildKit LLB graph of a Dappfile: one state
// chain per image and artifact (see package stages for the order), artifact
// imports as copies between subgraphs, and the image config of the result.
//
// Convert is the single entry point. It can run without a daemon: anything
// that reaches the outside world (image config resolution, named contexts,
// the build context) comes in through ConvertOpt and may be a fake.
package llb

import (
	"context"
	"strings"
	"time"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// ConvertOpt is everything Convert needs besides the Dappfile model.
type ConvertOpt struct {
	// Target names the image or artifact to build; empty picks the only
	// image.
	Target string
	// TargetPlatform is the platform of the result; nil means the default.
	TargetPlatform *ocispecs.Platform
	// MultiPlatform says the build converts for several platforms: step
	// names then start with the platform ("[linux/arm64 app] install"),
	// so the progress and errors of one platform's steps are told apart.
	MultiPlatform bool
	// ImageResolver resolves `from:` images to their config. Required: the
	// frontend passes the gateway client, tests a fake.
	ImageResolver sourceresolver.ImageMetaResolver
	// ImageResolveMode is passed to the resolver ("default", "pull", "local").
	ImageResolveMode string
	// NamedContext returns a state that replaces a `from:` image
	// (`--build-context name=...`), or nil when there is none.
	NamedContext func(ctx context.Context, ref string, platform ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error)
	// BuildContext returns the main build context filtered to the given
	// include/exclude patterns; used by local git mappings.
	BuildContext func(include, exclude []string) (bkllb.State, error)
	// SourceMap ties every vertex to its Dappfile lines; may be nil.
	SourceMap *bkllb.SourceMap
	// IgnoreCache reports whether the named image's steps must rerun
	// (`--no-cache`, `--no-cache-filter`).
	IgnoreCache func(name string) bool
	// Epoch is the created time of the history entries of the layers the
	// conversion adds (SOURCE_DATE_EPOCH); nil leaves it to the exporter.
	Epoch *time.Time
	// Labels are added to the result's config (`--label`).
	Labels map[string]string
	// Project namespaces build_dir caches (`--opt project=NAME`).
	Project string
	// CacheNamespace is BUILDKIT_CACHE_MOUNT_NS: it prefixes every cache id.
	CacheNamespace string
	// AutoCache adds package-manager cache mounts to user stages.
	AutoCache bool
	// ToolchainImage names the toolchain image mounted into user stages
	// (bash for shell stages, ansible for ansible stages); empty means
	// DefaultToolchainImage. A reference without a digest is resolved and
	// pinned.
	ToolchainImage string
	// ShellToolchainImage names the image whose bash shell stages run
	// (toolchain/shell.sh cuts it out of the toolchain: bash and what it
	// loads, a few MB against python3 and ansible); empty means
	// ToolchainImage when that is set (a toolchain of one's own has a bash
	// too), else DefaultShellToolchainImage. Ansible stages always mount
	// ToolchainImage.
	ShellToolchainImage string
	// ImageShell runs shell stages with the image's own /bin/sh instead of
	// the toolchain's bash.
	ImageShell bool
	// Git reaches the sources of git mappings.
	Git GitOpt
	// Warn receives problems that do not stop the build; may be nil.
	Warn func(dappfile.Warning)
	// ConvertDockerfile converts a werf `dockerfile:` image for the
	// platform; nil refuses such images. Errors located in the Dockerfile
	// carry their own source; others are placed at `dockerfile:`.
	ConvertDockerfile func(ctx context.Context, img *dappfile.Image, platform ocispecs.Platform) (*DockerfileResult, error)
}

// Result is the converted target.
type Result struct {
	State bkllb.State
	// Image is the result's config; BaseImage the config of its `from:`
	// image, when it has one.
	Image     *dockerspec.DockerOCIImage
	BaseImage *dockerspec.DockerOCIImage
	// Target is the image or artifact that was built.
	Target *dappfile.Image
	// CacheMounts are the persistent caches the steps of State mount, each
	// once (see SeedCacheMounts), sorted by id.
	CacheMounts []cachemounts.Mount
}

// Convert builds the LLB of the target of cfg and of everything the target
// needs (bases and imported artifacts, as independent subgraphs that
// BuildKit runs in parallel).
func Convert(ctx context.Context, cfg *dappfile.Config, opt ConvertOpt) (*Result, error) {
	if opt.ImageResolver == nil {
		return nil, errors.New("llb: no image resolver given")
	}
	target, err := SelectTarget(cfg, opt.Target)
	if err != nil {
		return nil, err
	}
	b := newBuilder(cfg, opt)
	out, err := b.build(ctx, target)
	if err != nil {
		return nil, err
	}
	img := out.image
	if !out.noHistory {
		img = withHistory(img, out.layers)
	}
	if target.Kind == dappfile.KindImage {
		applyLabels(img, opt.Labels)
	}
	return &Result{State: out.state, Image: img, BaseImage: out.baseImage, Target: target, CacheMounts: b.caches.sorted()}, nil
}

// displayName is how an image appears in progress output and errors.
func displayName(img *dappfile.Image) string {
	if img.Name == "" {
		return "~"
	}
	return img.Name
}

// oneLine shortens commands for a progress line.
func oneLine(cmds []string) string {
	s := strings.Join(cmds, " && ")
	s = strings.Join(strings.Fields(s), " ")
	const max = 72
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}
