package llb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flant/dapp-frontend/cachemounts"
	bkllb "github.com/moby/buildkit/client/llb"
)

// cacheRunOptions turns the mounts cachemounts decided on into options for the stage's bkllb.State.Run, in
// target order. Nothing they mount produces an output, so nothing of them
// reaches the stage's layer:
//
//   - Cache: bkllb.AsPersistentCacheDir(ID, sharing). For a non-root owner
//     the cache's root directory comes from a tiny state that creates it
//     with that owner (the way the Dockerfile frontend does uid=/gid=);
//   - Tmp: a scratch mount without output (bkllb.ForceNoOutput), on disk
//     rather than tmpfs so big temporary trees don't exhaust memory;
//   - File: a read-only mount of a one-file state;
//   - Env: bkllb.AddEnv for the step only; it does not carry over to the
//     next stage or into the image config.
func cacheRunOptions(ms []cachemounts.Mount) []bkllb.RunOption {
	ms = cachemounts.SortedByTarget(ms)
	var out []bkllb.RunOption
	var env []string
	for _, m := range ms {
		out = append(out, cacheRunOption(m))
		env = append(env, m.Env...)
	}
	slices.Sort(env)
	for _, kv := range slices.Compact(env) {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, bkllb.AddEnv(k, v))
	}
	return out
}

func cacheRunOption(m cachemounts.Mount) bkllb.RunOption {
	switch m.Type {
	case cachemounts.Tmp:
		st, opts := ownedRoot(m, "tmp_dir")
		return bkllb.AddMount(m.Target, st, append(opts, bkllb.ForceNoOutput)...)
	case cachemounts.File:
		st := bkllb.Scratch().File(bkllb.Mkfile("/file", 0o644, m.Content),
			bkllb.WithCustomName(fmt.Sprintf("[internal] %s: %s", m.Target, m.Reason)))
		return bkllb.AddMount(m.Target, st, bkllb.SourcePath("/file"), bkllb.Readonly)
	default:
		st, opts := ownedRoot(m, "cache")
		return bkllb.AddMount(m.Target, st, append(opts, bkllb.AsPersistentCacheDir(m.ID, sharingMode(m.Sharing)))...)
	}
}

// ownedRoot is the source of a cache or tmp mount: scratch for root, or a
// directory owned by m.UID:m.GID, so a non-root stage can write into it.
func ownedRoot(m cachemounts.Mount, what string) (bkllb.State, []bkllb.MountOption) {
	if m.UID == 0 && m.GID == 0 {
		return bkllb.Scratch(), nil
	}
	st := bkllb.Scratch().File(bkllb.Mkdir("/dir", 0o755, bkllb.WithUIDGID(m.UID, m.GID)),
		bkllb.WithCustomName(fmt.Sprintf("[internal] %s %s owned by %d:%d", what, m.Target, m.UID, m.GID)))
	return st, []bkllb.MountOption{bkllb.SourcePath("/dir")}
}

func sharingMode(s cachemounts.Sharing) bkllb.CacheMountSharingMode {
	switch s {
	case cachemounts.Private:
		return bkllb.CacheMountPrivate
	case cachemounts.Locked:
		return bkllb.CacheMountLocked
	default:
		return bkllb.CacheMountShared
	}
}

// withMountPoints creates the directive mount points of ms (MountPoints) in
// st as empty directories, like dapp did, and returns st unchanged when
// there are none. Call it once on the state after the image's last user
// stage.
func withMountPoints(st bkllb.State, ms []cachemounts.Mount, opts ...bkllb.ConstraintsOpt) bkllb.State {
	dirs := cachemounts.MountPoints(ms)
	if len(dirs) == 0 {
		return st
	}
	fa := bkllb.Mkdir(dirs[0], 0o755, bkllb.WithParents(true))
	for _, d := range dirs[1:] {
		fa = fa.Mkdir(d, 0o755, bkllb.WithParents(true))
	}
	opts = append([]bkllb.ConstraintsOpt{bkllb.WithCustomName("[dapp] mount points " + strings.Join(dirs, " "))}, opts...)
	return st.File(fa, opts...)
}
