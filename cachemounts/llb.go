package cachemounts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/client/llb"
)

// RunOptions turns mounts into options for the stage's llb.State.Run, in
// target order. Nothing they mount produces an output, so nothing of them
// reaches the stage's layer:
//
//   - Cache: llb.AsPersistentCacheDir(ID, sharing). For a non-root owner
//     the cache's root directory comes from a tiny state that creates it
//     with that owner (the way the Dockerfile frontend does uid=/gid=);
//   - Tmp: a scratch mount without output (llb.ForceNoOutput), on disk
//     rather than tmpfs so big temporary trees don't exhaust memory;
//   - File: a read-only mount of a one-file state;
//   - Env: llb.AddEnv for the step only; it does not carry over to the
//     next stage or into the image config.
func RunOptions(ms []Mount) []llb.RunOption {
	ms = slices.Clone(ms)
	sortByTarget(ms)
	var out []llb.RunOption
	var env []string
	for _, m := range ms {
		out = append(out, runOption(m))
		env = append(env, m.Env...)
	}
	slices.Sort(env)
	for _, kv := range slices.Compact(env) {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, llb.AddEnv(k, v))
	}
	return out
}

func runOption(m Mount) llb.RunOption {
	switch m.Type {
	case Tmp:
		st, opts := ownedRoot(m, "tmp_dir")
		return llb.AddMount(m.Target, st, append(opts, llb.ForceNoOutput)...)
	case File:
		st := llb.Scratch().File(llb.Mkfile("/file", 0o644, m.Content),
			llb.WithCustomName(fmt.Sprintf("[internal] %s: %s", m.Target, m.Reason)))
		return llb.AddMount(m.Target, st, llb.SourcePath("/file"), llb.Readonly)
	default:
		st, opts := ownedRoot(m, "cache")
		return llb.AddMount(m.Target, st, append(opts, llb.AsPersistentCacheDir(m.ID, sharingMode(m.Sharing)))...)
	}
}

// ownedRoot is the source of a cache or tmp mount: scratch for root, or a
// directory owned by m.UID:m.GID, so a non-root stage can write into it.
func ownedRoot(m Mount, what string) (llb.State, []llb.MountOption) {
	if m.UID == 0 && m.GID == 0 {
		return llb.Scratch(), nil
	}
	st := llb.Scratch().File(llb.Mkdir("/dir", 0o755, llb.WithUIDGID(m.UID, m.GID)),
		llb.WithCustomName(fmt.Sprintf("[internal] %s %s owned by %d:%d", what, m.Target, m.UID, m.GID)))
	return st, []llb.MountOption{llb.SourcePath("/dir")}
}

func sharingMode(s Sharing) llb.CacheMountSharingMode {
	switch s {
	case Private:
		return llb.CacheMountPrivate
	case Locked:
		return llb.CacheMountLocked
	default:
		return llb.CacheMountShared
	}
}

// AddMountPoints creates the directive mount points of ms (MountPoints) in
// st as empty directories, like dapp did, and returns st unchanged when
// there are none. Call it once on the state after the image's last user
// stage.
func AddMountPoints(st llb.State, ms []Mount, opts ...llb.ConstraintsOpt) llb.State {
	dirs := MountPoints(ms)
	if len(dirs) == 0 {
		return st
	}
	fa := llb.Mkdir(dirs[0], 0o755, llb.WithParents(true))
	for _, d := range dirs[1:] {
		fa = fa.Mkdir(d, 0o755, llb.WithParents(true))
	}
	opts = append([]llb.ConstraintsOpt{llb.WithCustomName("[dapp] mount points " + strings.Join(dirs, " "))}, opts...)
	return st.File(fa, opts...)
}
