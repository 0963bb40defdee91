package llb

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/llb/gitllb"
	bkllb "github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Cache mounts that outlive a CI runner (BuildKit exports none with
// --cache-to, moby/buildkit#1474).
//
// BuildKit keys a cache mount's directory by its id and by the ref of its
// source (solver/llbsolver/mounts: key = id + ":" + source ref id), and an
// ExecOp's cache key takes every mount source as an input. Seeding a cache
// through the user step's mount source would therefore change that step's
// cache key and point it at another cache directory. Instead the saved
// content reaches the cache through a separate step, solved before the
// build, that mounts the same cache (same id and source; locked, see
// transferSharing) and copies into it when it is empty; the build's own
// definition stays the same byte for byte, with or without seeding,
// whatever was saved.
const (
	// CacheMountsTarget is the target whose result is the content of the
	// build's cache mounts, one directory per cache id.
	CacheMountsTarget = "dapp-cache-mounts"
	// CacheMountsContext is the named context (--build-context NAME=...)
	// that seeds the build's empty cache mounts from such a result.
	CacheMountsContext = "dapp-cache-mounts"
	// DefaultCacheMountsMaxSize bounds the bytes one save or seed copies.
	DefaultCacheMountsMaxSize = 4 << 30
)

// Mount points of the save and seed steps; their root is an empty scratch.
const (
	transferHelper = "/dapp-helper"
	transferCaches = "/dapp-cache"
	transferSaved  = "/dapp-saved"
	// transferRunEnv carries TransferEnv.Run into the step.
	transferRunEnv = "DAPP_TRANSFER_RUN"
)

// TransferEnv is what the save and seed steps need besides the mounts.
type TransferEnv struct {
	// Helper holds the frontend binary at gitllb.HelperBinary.
	Helper bkllb.State
	// Platform is the worker's platform, where the helper runs; nil leaves
	// it to the marshalling default.
	Platform *ocispecs.Platform
	// MaxSize bounds the bytes copied; 0 means DefaultCacheMountsMaxSize.
	MaxSize int64
	// Run names this build (the gateway session): it makes the step's
	// cache key new for every build, so the copy runs each time.
	// bkllb.IgnoreCache cannot do that: BuildKit empties every cache mount
	// of an ExecOp marked so before the build (solver/llbsolver/bridge.go,
	// detectPrunedCacheID; that is how --no-cache resets cache mounts).
	Run string
}

// SaveCacheMounts is a state holding the content of the cache mounts ms,
// each under cachemounts.DirName of its id. The step reruns on every build
// (see TransferEnv.Run): its cache key cannot see what the caches hold.
func SaveCacheMounts(ms []cachemounts.Mount, env TransferEnv) bkllb.State {
	const out = "/out"
	ros, tms := transferMounts(ms, true)
	st := transferRun(cachemounts.SaveCommand, tms, out, env,
		fmt.Sprintf("[dapp] save %d cache mounts", len(tms)), ros)
	return st.AddMount(out, bkllb.Scratch())
}

// SeedCacheMounts is a state whose solve copies the saved content (a
// SaveCacheMounts result) into those of the cache mounts ms that are
// empty. Its result holds nothing; only its side effect counts.
func SeedCacheMounts(ms []cachemounts.Mount, saved bkllb.State, env TransferEnv) bkllb.State {
	ros, tms := transferMounts(ms, false)
	ros = append(ros, bkllb.AddMount(transferSaved, saved, bkllb.Readonly))
	return transferRun(cachemounts.SeedCommand, tms, transferSaved, env,
		fmt.Sprintf("[dapp] seed %d cache mounts from %s", len(tms), CacheMountsContext), ros).Root()
}

func transferRun(cmd string, tms []cachemounts.TransferMount, saved string, env TransferEnv, name string, ros []bkllb.RunOption) bkllb.ExecState {
	maxSize := env.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultCacheMountsMaxSize
	}
	o := cachemounts.TransferOpt{Mounts: tms, Saved: saved, MaxSize: maxSize}
	ros = append(ros,
		bkllb.Args(append([]string{transferHelper + gitllb.HelperBinary, cmd}, o.Args()...)),
		bkllb.Dir("/"),
		bkllb.AddMount(transferHelper, env.Helper, bkllb.Readonly),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.AddEnv(transferRunEnv, env.Run),
		bkllb.WithCustomName(name),
	)
	if env.Platform != nil {
		ros = append(ros, bkllb.Platform(*env.Platform))
	}
	return bkllb.Scratch().Run(ros...)
}

// transferMounts mounts each cache of ms as the build's steps do (same id
// and source, so BuildKit picks among the same directories; sharing as
// transferSharing says), at /dapp-cache/N in the order of ms; read-only for
// a save.
func transferMounts(ms []cachemounts.Mount, save bool) ([]bkllb.RunOption, []cachemounts.TransferMount) {
	var ros []bkllb.RunOption
	var tms []cachemounts.TransferMount
	for i, m := range ms {
		m.Target = fmt.Sprintf("%s/%d", transferCaches, i)
		st, opts := ownedRoot(m, "cache")
		opts = append(opts, bkllb.AsPersistentCacheDir(m.ID, sharingMode(transferSharing)))
		if save {
			opts = append(opts, bkllb.Readonly)
		}
		ros = append(ros, bkllb.AddMount(m.Target, st, opts...))
		tm := cachemounts.TransferMount{Dir: cachemounts.DirName(m.ID), Path: m.Target}
		if save {
			tm.NotSaved = m.NotSaved
		}
		tms = append(tms, tm)
	}
	return ros, tms
}

// transferSharing is the sharing mode the save and seed steps mount every
// cache with, whatever the build's mode. BuildKit finds a cache's
// instances by id and source whatever the mode, so a mode of their own
// still reaches the build's directories. When the instance is busy (a
// step of another build on the builder, or the build's last step whose
// hold on the cache BuildKit has not released yet when the save starts),
// a private or shared mount would get a new, empty instance: the save
// would save nothing and leave that empty instance behind for later steps
// to take, the seed would fill an instance the build may not take. Locked
// waits for the instance the build filled, the one a step that runs alone
// takes (BuildKit's first free instance).
const transferSharing = cachemounts.Locked

// cacheSet collects the persistent caches the converted steps mount, once
// per CacheKey.
type cacheSet map[string]cachemounts.Mount

func (s cacheSet) add(ms []cachemounts.Mount) {
	for _, m := range ms {
		if m.Type != cachemounts.Cache {
			continue
		}
		key := CacheKey(m)
		if _, ok := s[key]; !ok {
			m.Target, m.Env, m.Reason, m.Directive, m.Loc = "", nil, "", false, dappfile.Range{}
			s[key] = m
		}
	}
}

// CacheKey tells caches apart as BuildKit does: by id and owner (the
// owner makes the mount's source, and so the cache directory, differ).
func CacheKey(m cachemounts.Mount) string { return fmt.Sprintf("%s\x00%d:%d", m.ID, m.UID, m.GID) }

// sorted lists the caches by id, then owner.
func (s cacheSet) sorted() []cachemounts.Mount {
	out := make([]cachemounts.Mount, 0, len(s))
	for _, m := range s {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b cachemounts.Mount) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.UID, b.UID), cmp.Compare(a.GID, b.GID))
	})
	return out
}

// AllCacheMounts converts every stapel image and artifact of cfg (as the
// builds of all targets would) and lists the persistent caches their steps
// mount: what the CacheMountsTarget saves.
func AllCacheMounts(ctx context.Context, cfg *dappfile.Config, opt ConvertOpt) ([]cachemounts.Mount, error) {
	b := newBuilder(cfg, opt)
	for _, img := range cfg.Images {
		if img.Dockerfile != nil {
			continue
		}
		if _, err := b.build(ctx, img); err != nil {
			return nil, err
		}
	}
	return b.caches.sorted(), nil
}
