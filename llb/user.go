package llb

import (
	"strings"

	"github.com/flant/dapp-frontend/stages"
	bkllb "github.com/moby/buildkit/client/llb"
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
func (sb *stageBuilder) applyUser(st stages.Stage) error {
	scripts := []string{strings.Join(st.Commands, "\n")}
	if sb.img.AsLayers {
		scripts = st.Commands
	}
	versions := append(append([]string{}, sb.salt...), st.CacheVersions...)
	var mounts []bkllb.RunOption
	if f := sb.b.opt.Mounts; f != nil {
		var err error
		if mounts, err = f(sb.img, st, stepUser); err != nil {
			return withLocation(sb.b.cfg, err, st.Ranges[0])
		}
	}
	for i, script := range scripts {
		detail := oneLine(st.Commands)
		if sb.img.AsLayers {
			detail = oneLine(st.Commands[i : i+1])
		}
		opts := []bkllb.RunOption{bkllb.Args([]string{"/bin/sh", "-ec", script})}
		if len(versions) > 0 {
			opts = append(opts, bkllb.AddEnv(cacheVersionEnv, strings.Join(versions, "\x1f")))
		}
		opts = append(opts, mounts...)
		for _, c := range sb.constraints(st, sb.vertexName(st.ID, detail)) {
			opts = append(opts, c)
		}
		sb.state = sb.state.Run(opts...).Root()
	}
	return nil
}

// stepUser is the user build steps run as. dapp runs every user stage as
// root whatever USER the base image or the docker section sets, so that
// package managers work; USER only reaches the result's config.
const stepUser = ""
