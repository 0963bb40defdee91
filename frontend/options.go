package frontend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/go-units"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	dappllb "github.com/flant/dapp-frontend/llb"
	"github.com/flant/dapp-frontend/llb/gitllb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// Frontend options of our own: `--opt NAME=VALUE` with buildctl, and the
// build arg DAPP_<NAME> (upper case, dashes as underscores) with buildx,
// which cannot pass arbitrary frontend options. The standard ones (target,
// build-arg:*, platform, no-cache, label:*, cache imports, named contexts)
// are parsed once by dockerui. TestOptionsFromBuildArgs checks the README
// table names every option.
const (
	keyDev       = "dev"
	keyProject   = "project"
	keyAutoCache = "auto-cache"
	// keyGitPatchThreshold is dapp's gitCache limit (default 1 MiB).
	keyGitPatchThreshold = "git-patch-threshold"
	// keyGitHelperImage names an image holding /dapp-frontend, for git
	// steps too big to inline when the frontend runs in-process.
	keyGitHelperImage = "git-helper-image"
	// keyToolchainImage names the toolchain image (bash, python, ansible)
	// mounted into user stages.
	keyToolchainImage = "toolchain-image"
	// keyShellToolchainImage names the image whose bash shell stages run
	// (the toolchain's bash alone); unset, toolchain-image's, or the
	// default shell toolchain when neither is set.
	keyShellToolchainImage = "shell-toolchain-image"
	// keyShell says what runs shell stages: "toolchain" (its bash, the
	// default, as dapp did) or "image" (the image's own /bin/sh).
	keyShell = "shell"
	// keyTrace (trace.go) prints where the build's time goes.

	// keyCacheMountsMaxSize bounds what saving or seeding the cache
	// mounts copies.
	keyCacheMountsMaxSize = "cache-mounts-max-size"
	// keyVCSSource is set by buildx to the git remote of the context.
	keyVCSSource = "vcs:source"
)

// options are this frontend's own settings.
type options struct {
	// dev builds the working tree of local git mappings, like `dapp --dev`.
	dev bool
	// project namespaces build_dir caches.
	project string
	// projectSet is true when the user named the project; otherwise a
	// werf.yaml's `project` wins over the git remote's name.
	projectSet bool
	// autoCache adds package-manager cache mounts to user stages.
	autoCache bool
	// gitPatchThreshold is the gitCache limit in bytes; 0 takes the default.
	gitPatchThreshold int64
	// gitHelperImage runs the git-export helper; empty takes the frontend
	// image itself when there is one.
	gitHelperImage string
	// toolchainImage overrides llb.DefaultToolchainImage.
	toolchainImage string
	// shellToolchainImage is llb.ConvertOpt.ShellToolchainImage.
	shellToolchainImage string
	// imageShell runs shell stages with the image's /bin/sh.
	imageShell bool
	// trace prints the phase trace (see tracer).
	trace bool
	// cacheMountsMaxSize bounds the bytes a cache-mount save or seed
	// copies; 0 takes the default.
	cacheMountsMaxSize int64
}

func parseOptions(opts map[string]string) (options, error) {
	opts = withBuildArgOptions(opts)
	o := options{project: opts[keyProject], autoCache: true, gitHelperImage: opts[keyGitHelperImage]}
	var err error
	if o.dev, err = parseBool(opts, keyDev, false); err != nil {
		return o, err
	}
	if o.autoCache, err = parseBool(opts, keyAutoCache, true); err != nil {
		return o, err
	}
	if o.trace, err = parseBool(opts, keyTrace, false); err != nil {
		return o, err
	}
	o.projectSet = o.project != ""
	if o.project == "" {
		o.project = defaultProject(opts[keyVCSSource])
	}
	o.toolchainImage = opts[keyToolchainImage]
	o.shellToolchainImage = opts[keyShellToolchainImage]
	switch v := opts[keyShell]; v {
	case "", "toolchain":
	case "image":
		o.imageShell = true
	default:
		return o, errors.Errorf("option %s: %q is neither toolchain (the toolchain's bash) nor image (the image's /bin/sh)", keyShell, v)
	}
	if o.gitPatchThreshold, err = parseSize(opts, keyGitPatchThreshold); err != nil {
		return o, err
	}
	if o.cacheMountsMaxSize, err = parseSize(opts, keyCacheMountsMaxSize); err != nil {
		return o, err
	}
	return o, nil
}

// parseSize reads a positive size option; 0 when it is not set.
func parseSize(opts map[string]string, key string) (int64, error) {
	v := opts[key]
	if v == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil || n <= 0 {
		return 0, errors.Errorf("option %s: %q is not a size (e.g. 1m, 512k, 1048576)", key, v)
	}
	return n, nil
}

// ownOptions lists this frontend's options for withBuildArgOptions.
var ownOptions = []string{keyDev, keyProject, keyAutoCache, keyGitPatchThreshold, keyGitHelperImage, keyToolchainImage, keyShellToolchainImage, keyShell, keyTrace, keyCacheMountsMaxSize}

// withBuildArgOptions fills an option from its DAPP_* build arg when the
// option itself is not set.
func withBuildArgOptions(opts map[string]string) map[string]string {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		out[k] = v
	}
	for _, key := range ownOptions {
		arg := "build-arg:DAPP_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
		if v, ok := opts[arg]; ok {
			if _, set := opts[key]; !set {
				out[key] = v
			}
		}
	}
	return out
}

func parseBool(opts map[string]string, key string, def bool) (bool, error) {
	v, ok := opts[key]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, errors.Errorf("option %s: %q is not a boolean (true or false)", key, v)
	}
	return b, nil
}

// withMeta takes the project name from a werf.yaml's meta document unless
// the user named one.
func (o options) withMeta(cfg *dappfile.Config) options {
	if !o.projectSet && cfg.Meta != nil && cfg.Meta.Project != "" {
		o.project = cfg.Meta.Project
	}
	return o
}

// defaultProject names the project after the context's git remote when the
// client told us (buildx does), since a frontend never sees the client's
// directory name.
func defaultProject(vcsSource string) string {
	name := strings.TrimSuffix(path.Base(strings.TrimSuffix(vcsSource, "/")), ".git")
	if name == "" || name == "." || name == "/" {
		return "default"
	}
	return name
}

func convertOpt(ctx context.Context, bc *dockerui.Client, opt options, src *dockerui.Source, platform *ocispecs.Platform, git *contextGit, bg *background) dappllb.ConvertOpt {
	return dappllb.ConvertOpt{
		Target:           bc.Target,
		TargetPlatform:   platform,
		MultiPlatform:    bc.MultiPlatformRequested,
		ImageResolver:    bg.bases,
		ImageResolveMode: bc.ImageResolveMode.String(),
		NamedContext:     bg.bases.namedContext,
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bg.worktrees.main.narrowedTo(ctx, include, exclude)
		},
		SourceMap:           src.SourceMap,
		IgnoreCache:         bc.IsNoCache,
		Labels:              bc.Labels,
		Project:             opt.project,
		CacheNamespace:      bc.CacheIDNamespace,
		AutoCache:           opt.autoCache,
		ToolchainImage:      opt.toolchainImage,
		ShellToolchainImage: opt.shellToolchainImage,
		ImageShell:          opt.imageShell,
		Git:                 gitOpt(bc, opt, git, bg),
		ConvertDockerfile:   convertDockerfileFunc(bc),
		Warn: func(w dappfile.Warning) {
			src.Warn(ctx, w.Message, warnOpts(w.Range))
		},
	}
}

// narrowing is what a transfer of the main context takes of it.
type narrowing struct {
	include, exclude, follow []string
}

// sharedKeyHint names the copy of the main context that BuildKit keeps
// for this narrowing. BuildKit keeps one copy of a local source per name
// and shared-key hint, whatever its patterns, and sends only what differs
// from it. dockerui's hint is the context's name alone, so the frontend's
// narrowings (.git, the templates, the work trees of the uncommitted
// checks, dev mode's mappings), transferred at the same time, took one
// another's copies and sent most of what they hold on every build: 3 MB
// of .git and the whole work tree twice on a no-op. A hint per narrowing
// keeps each copy, as dockerui does for .dockerignore. It is not part of
// any cache key: a local source is keyed by its patterns, and what reads
// it by the content transferred.
func (n narrowing) sharedKeyHint() string {
	h := sha256.New()
	for _, list := range [][]string{n.include, n.exclude, n.follow} {
		for _, p := range list {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return dockerui.DefaultLocalNameContext + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// dotGit is the context limited to .git. The git-export helper mounts the
// same state, so its vertex is the one contextGit already solved. When the
// main context is the client's directory it is earlyDotGit's state, made
// without waiting for dockerui to read .dockerignore, whose patterns
// dotGitOpts replace anyway: the reads of .git then never queue behind
// that transfer.
func dotGit(ctx context.Context, bc *dockerui.Client) (bkllb.State, error) {
	if st, ok := earlyDotGit(bc); ok {
		return st, nil
	}
	return mainContextDotGit(ctx, bc)
}

// mainContextDotGit is dotGit's state as dockerui's main context makes it,
// whatever the context is (another local name, a remote context).
func mainContextDotGit(ctx context.Context, bc *dockerui.Client) (bkllb.State, error) {
	st, err := bc.MainContext(ctx, dotGitOpts()...)
	if err != nil {
		return bkllb.State{}, err
	}
	return *st, nil
}

// dotGitOpts narrow the main context to .git, whatever .dockerignore says,
// without what neither the plan, the checks nor git-export ever read:
// dotGitUnread. .dockerignore comes along (its target too, when it is a
// link, as dockerui's own transfer of it follows it): mainContext reads
// the ignore patterns from there, which saves the daemon a transfer of
// its own. It changes nothing that reads .git: the read-ahead and the
// git-export steps read below .git, and the steps are keyed by the
// objects they copy from it.
func dotGitOpts() []bkllb.LocalOption {
	n := narrowing{include: []string{".git", dockerignoreName}, exclude: dotGitUnread, follow: []string{dockerignoreName}}
	return []bkllb.LocalOption{bkllb.IncludePatterns(n.include), bkllb.ExcludePatterns(n.exclude),
		bkllb.FollowPaths(n.follow), dockerui.WithInternalName("load .git, " + dockerignoreName),
		bkllb.SharedKeyHint(n.sharedKeyHint())}
}

// dotGitUnread are the folders of .git the build never reads, left out of
// its transfer: Git LFS's store (the content of every LFS file, which
// git mappings copy as the pointers git holds), the reflogs (a file per
// ref, rewritten by every commit), the hooks, the linked worktrees'
// state (an index each) and rerere's cache. The objects, refs, HEAD,
// packed-refs, index, config, info/ and modules/ (submodules) stay.
var dotGitUnread = []string{".git/lfs", ".git/logs", ".git/hooks", ".git/worktrees", ".git/rr-cache"}

// earlyDotGit is dotGit's state, made without dockerui, which reads
// .dockerignore (next to the Dappfile first) before it hands out the main
// context: Build starts the transfer of .git with it before the Dappfile
// is read. ok is false when the main context may not be the client's
// directory under its default name (another name, a remote context):
// dotGit's state could then differ.
func earlyDotGit(bc *dockerui.Client) (bkllb.State, bool) {
	bo := bc.BuildOpts()
	if !localMainContext(bo) {
		return bkllb.State{}, false
	}
	return bkllb.Local(dockerui.DefaultLocalNameContext, append([]bkllb.LocalOption{bkllb.SessionID(contextSessionID(bo))}, dotGitOpts()...)...), true
}

// contextSessionID is the session the main context's directory comes
// from, as dockerui picks it.
func contextSessionID(bo gwclient.BuildOpts) string {
	if v := bo.Opts[localSessionPrefix+dockerui.DefaultLocalNameContext]; v != "" {
		return v
	}
	return bo.SessionID
}

// localMainContext reports whether the main context is the client's
// directory under its default name, as the frontend's speculative solves
// (earlyDotGit) assume: not another local name, not a remote context.
func localMainContext(bo gwclient.BuildOpts) bool {
	return bo.Opts[keyContextKey] == "" && bo.Opts[dockerui.DefaultLocalNameContext] == ""
}

// currentFrontend is how the gRPC gateway client exposes the image the
// frontend runs from; it is not part of the client.Client interface.
type currentFrontend interface {
	CurrentFrontend() (*bkllb.State, error)
}

// frontendBinary finds the frontend binary for the steps that run it (the
// git-export helper, the cache-mount copies): the image named by
// git-helper-image, else the frontend's own image (known only when
// BuildKit runs the frontend as a gateway image). why starts the error
// when there is neither.
func frontendBinary(bc *dockerui.Client, opt options, why string) func(context.Context) (bkllb.State, error) {
	return func(context.Context) (bkllb.State, error) {
		if opt.gitHelperImage != "" {
			return bkllb.Image(opt.gitHelperImage, bkllb.Platform(workerPlatform(bc)),
				bkllb.WithCustomName("git-export helper "+opt.gitHelperImage)), nil
		}
		if cf, ok := bc.GatewayClient().(currentFrontend); ok {
			st, err := cf.CurrentFrontend()
			if err != nil {
				return bkllb.State{}, errors.Wrap(err, "failed to read the frontend image")
			}
			if st != nil {
				return *st, nil
			}
		}
		return bkllb.State{}, errors.Errorf("%s, "+
			"and this frontend does not run from an image: set --opt %s=IMAGE (build arg DAPP_GIT_HELPER_IMAGE) "+
			"to an image holding %s, such as the dapp-frontend image", why, keyGitHelperImage, gitllb.HelperBinary)
	}
}

// workerPlatform is the worker's platform: the helper runs there, whatever
// the target platform.
func workerPlatform(bc *dockerui.Client) ocispecs.Platform {
	if len(bc.BuildPlatforms) > 0 {
		return bc.BuildPlatforms[0]
	}
	return platforms.DefaultSpec()
}

// exportAbove is the size above which a git layer is written inside the
// build by the git-export helper when there is one (the frontend runs as
// an image, or git-helper-image names one): the build definition carries
// only small patches, never a tree's unchanged content.
const exportAbove = 64 << 10

// exportPatchesAbove is exportAbove for patches (llb.GitOpt): a patch
// below the gitCache threshold travels inline, its files' content read
// ahead with the history (prefetchPatchBytes), since after a commit the
// git-export ExecOp and its copies cost more than the data.
const exportPatchesAbove = gitsource.DefaultPatchThreshold

// gitOpt gives the conversion the context's repository, its work tree and
// the resolver that pins remote refs, all through the gateway.
func gitOpt(bc *dockerui.Client, opt options, git *contextGit, bg *background) dappllb.GitOpt {
	return dappllb.GitOpt{
		Background:         bg.run,
		Repo:               git.forConversion,
		ExportAbove:        exportAbove,
		ExportPatchesAbove: exportPatchesAbove,
		Resolver:           bc.GatewayClient(),
		Dev:                opt.dev,
		Plan:               gitsource.PlanOpt{PatchThreshold: opt.gitPatchThreshold},
		DotGit:             func(ctx context.Context) (bkllb.State, error) { return dotGit(ctx, bc) },
		Helper:             frontendBinary(bc, opt, "such steps are written by the frontend binary inside the build"),
		HelperPlatform: func() *ocispecs.Platform {
			p := workerPlatform(bc)
			return &p
		}(),
		Worktree: bg.worktrees.get,
		Blobs:    git.blobSource,
	}
}
