package llb

import (
	"context"
	"slices"
	"strings"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// cacheVersionEnv carries fromCacheVersion and the stage's cacheVersions
// into the build step. A step's environment is part of its LLB digest, so
// a new cacheVersion reruns the stage (and everything after it) while the
// image config never sees the variable.
const cacheVersionEnv = "DAPP_CACHE_VERSION"

// applyUser runs a shell stage: its commands in one shell, in order,
// stopping at the first failure (dapp runs them as one script, so `cd` in
// one command holds for the next). asLayers gives each command its own
// step, as dapp's debug mode does.
func (sb *stageBuilder) applyUser(ctx context.Context, st stages.Stage) error {
	scripts := []string{strings.Join(st.Commands, "\n")}
	if sb.img.AsLayers {
		scripts = st.Commands
	}
	versions := append(append([]string{}, sb.salt...), st.CacheVersions...)
	mounts, err := sb.stageMounts(st)
	if err != nil {
		return err
	}
	shell, shellMounts, err := sb.userShell(ctx)
	if err != nil {
		return withLocation(sb.b.cfg, err, st.Ranges[0])
	}
	for i, script := range scripts {
		detail := oneLine(st.Commands)
		if sb.img.AsLayers {
			detail = oneLine(st.Commands[i : i+1])
		}
		opts := []bkllb.RunOption{bkllb.Args(append(slices.Clip(shell), script))}
		opts = append(opts, shellMounts...)
		if len(versions) > 0 {
			opts = append(opts, bkllb.AddEnv(cacheVersionEnv, strings.Join(versions, "\x1f")))
		}
		opts = append(opts, mounts...)
		opts = append(opts, secretRunOptions(sb.img)...)
		name := sb.vertexName(st.ID, detail)
		for _, c := range sb.constraints(st, name) {
			opts = append(opts, c)
		}
		sb.addLayer(sb.state.Run(opts...).Root(), name)
	}
	return nil
}

// Build steps run as root whatever USER the base image or the docker
// section sets, as in dapp, so that package managers work; USER only
// reaches the result's config. Cache paths are therefore root's.
const (
	stepUID  = 0
	stepHome = "/root"
)

// stageMounts are the cache mounts of one user stage: the image's `mount:`
// directives plus the automatic package-manager caches its commands need.
func (sb *stageBuilder) stageMounts(st stages.Stage) ([]bkllb.RunOption, error) {
	opt := sb.cacheOpt()
	if !sb.directivesRead {
		dirs, warnings, err := cachemounts.FromDirectives(sb.img.Mounts, opt)
		if err != nil {
			return nil, err
		}
		sb.b.warn(warnings)
		sb.directives, sb.directivesRead = dirs, true
	}
	ms := cachemounts.Merge(sb.directives, cachemounts.Detect(stageCommands(st), opt))
	sb.b.caches.add(ms)
	return cacheRunOptions(ms), nil
}

// stageCommands are what cache detection reads: a shell stage's commands,
// or what an ansible stage's tasks run.
func stageCommands(st stages.Stage) []string {
	if len(st.Tasks) > 0 {
		return cachemounts.TaskCommands(st.Tasks)
	}
	return st.Commands
}

func (sb *stageBuilder) cacheOpt() cachemounts.Opt {
	return sb.b.cacheOpt(sb.img, sb.image.Config.Env)
}

// cacheOpt is what cachemounts needs to decide img's mounts; env is the
// environment the stage runs with.
func (b *builder) cacheOpt(img *dappfile.Image, env []string) cachemounts.Opt {
	return cachemounts.Opt{
		Project:   b.opt.Project,
		Namespace: b.opt.CacheNamespace,
		UID:       stepUID,
		GID:       stepUID,
		Home:      stepHome,
		Env:       env,
		Base:      b.rootBase(img),
		Auto:      b.opt.AutoCache && !img.NoAutoCache(),
	}
}

// CacheMounts lists the cache mounts the user stages of img get, each
// once, for the outline subrequest. Base images are not resolved, so paths
// that follow the base image's environment show their defaults.
func CacheMounts(cfg *dappfile.Config, img *dappfile.Image, opt ConvertOpt) ([]cachemounts.Mount, error) {
	// no base image is resolved: the environment is the default one
	opt2 := newBuilder(cfg, opt).cacheOpt(img, emptyImage(ocispecs.Platform{}).Config.Env)
	dirs, _, err := cachemounts.FromDirectives(img.Mounts, opt2)
	if err != nil {
		return nil, err
	}
	var out []cachemounts.Mount
	seen := map[string]bool{}
	for _, st := range stages.Chain(img) {
		if st.Kind != stages.KindUser {
			continue
		}
		for _, m := range cachemounts.Merge(dirs, cachemounts.Detect(stageCommands(st), opt2)) {
			if key := m.Target + "\x00" + m.ID; !seen[key] {
				seen[key] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}
