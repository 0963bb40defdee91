package frontend

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/require"
)

// aptUser runs apt and keeps a build_dir: an automatic cache and a
// directive cache.
const aptUser = `dimg: app
from: debian:bookworm
mount:
- from: build_dir
  to: /build
shell:
  beforeInstall:
  - apt-get update && apt-get install -y hello
  install:
  - make -C /build
`

// execs decodes a definition's ExecOps.
func execs(t *testing.T, def *pb.Definition) []*pb.ExecOp {
	t.Helper()
	var out []*pb.ExecOp
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if e := op.GetExec(); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// cacheMountsOf lists "id sharing" of the persistent caches of execs,
// each once, sorted.
func cacheMountsOf(es []*pb.ExecOp, readonly bool) []string {
	var out []string
	for _, e := range es {
		for _, m := range e.Mounts {
			if m.MountType == pb.MountType_CACHE && m.Readonly == readonly {
				out = append(out, m.CacheOpt.ID+" "+m.CacheOpt.Sharing.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestSeedLeavesTheBuildAlone: with the saved caches named, one more
// solve runs before the build: a step that mounts every cache of the
// build (same ids and sharing) and the saved content. The build's own
// definition, and so every step's cache key, is the same byte for byte.
func TestSeedLeavesTheBuildAlone(t *testing.T) {
	t.Parallel()
	opts := map[string]string{"git-helper-image": "registry.example/dapp-frontend:1"}
	plain := newStub(map[string]string{"Dappfile": aptUser}, opts)
	_, err := Build(context.Background(), plain)
	require.NoError(t, err)

	seededOpts := map[string]string{"context:dapp-cache-mounts": "docker-image://registry.example/app-caches:main"}
	for k, v := range opts {
		seededOpts[k] = v
	}
	seeded := newStub(map[string]string{"Dappfile": aptUser}, seededOpts)
	_, err = Build(context.Background(), seeded)
	require.NoError(t, err)

	require.Len(t, seeded.solved, len(plain.solved)+1, "one solve more: the seed")
	build, seed := seeded.solved[len(seeded.solved)-1], seeded.solved[len(seeded.solved)-2]
	require.Equal(t, plain.solved[len(plain.solved)-1].Def, build.Def, "the build's definition does not depend on seeding")

	buildCaches := cacheMountsOf(execs(t, build), false)
	require.Equal(t, []string{
		"dapp/auto/apt/cache PRIVATE",
		"dapp/auto/apt/lists PRIVATE",
		"dapp/project/default/build_dir/build SHARED",
	}, buildCaches)
	seedExecs := execs(t, seed)
	require.Len(t, seedExecs, 1)
	// every cache locked: the seed fills an instance the build uses,
	// never a new one of its own
	require.Equal(t, []string{
		"dapp/auto/apt/cache LOCKED",
		"dapp/auto/apt/lists LOCKED",
		"dapp/project/default/build_dir/build LOCKED",
	}, cacheMountsOf(seedExecs, false), "the seed mounts the build's caches, writable")
	e := seedExecs[0]
	require.Equal(t, []string{"/dapp-helper/dapp-frontend", cachemounts.SeedCommand}, e.Meta.Args[:2])
	require.Equal(t, pb.NetMode_NONE, e.Network)
	args := strings.Join(e.Meta.Args, " ")
	require.Contains(t, args, "--mount dapp%2Fauto%2Fapt%2Fcache=/dapp-cache/0 --mount dapp%2Fauto%2Fapt%2Flists=/dapp-cache/1")
	var saved bool
	for _, m := range e.Mounts {
		if m.Dest == "/dapp-saved" {
			saved = m.Readonly
		}
	}
	require.True(t, saved, "the saved content is mounted read-only")
	require.Contains(t, string(slices.Concat(seed.Def...)), "registry.example/app-caches:main")
}

// TestSaveTarget: --target dapp-cache-mounts solves one step that mounts
// the caches of every image and artifact read-only and copies them out;
// it runs whatever the cache holds.
func TestSaveTarget(t *testing.T) {
	t.Parallel()
	files := map[string]string{"Dappfile": aptUser + "---\nartifact: tool\nfrom: alpine\nshell:\n  buildArtifact: [npm ci]\n"}
	c := newStub(files, map[string]string{"target": "dapp-cache-mounts", "git-helper-image": "registry.example/dapp-frontend:1", "cache-mounts-max-size": "1g"})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	require.NotNil(t, res.Ref)
	def := c.solved[len(c.solved)-1]
	es := execs(t, def)
	require.Len(t, es, 1, "no user step runs")
	// every cache locked here, whatever the build's mode: the save waits
	// for an instance the build filled instead of making an empty one
	require.Equal(t, []string{
		"dapp/auto/apt/cache LOCKED",
		"dapp/auto/apt/lists LOCKED",
		"dapp/auto/npm LOCKED",
		"dapp/project/default/build_dir/build LOCKED",
	}, cacheMountsOf(es, true))
	require.Equal(t, []string{"/dapp-helper/dapp-frontend", cachemounts.SaveCommand, "--saved", "/out", "--max-size", "1073741824"}, es[0].Meta.Args[:6])
	// not IgnoreCache, which would empty the caches: the session makes
	// the step new for every build
	require.Contains(t, es[0].Meta.Env, "DAPP_TRANSFER_RUN=stub")
	for _, md := range def.Metadata {
		require.False(t, md.IgnoreCache)
	}
}

// TestSaveTargetNeedsTheBinary: in-process, without git-helper-image,
// the message says what to set.
func TestSaveTargetNeedsTheBinary(t *testing.T) {
	t.Parallel()
	_, err := Build(context.Background(), newStub(map[string]string{"Dappfile": aptUser}, map[string]string{"target": "dapp-cache-mounts"}))
	require.ErrorContains(t, err, "cache mounts are saved and seeded by the frontend binary inside the build, and this frontend does not run from an image: set --opt git-helper-image=IMAGE")
}

// TestSeedOncePerBuild: the platforms of a build share the builder's
// caches, so one seed serves them all (two at once would both find a
// shared cache empty).
func TestSeedOncePerBuild(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": aptUser}, map[string]string{
		"platform":                  "linux/amd64,linux/arm64",
		"git-helper-image":          "registry.example/dapp-frontend:1",
		"context:dapp-cache-mounts": "docker-image://registry.example/app-caches:main",
	})
	_, err := Build(context.Background(), c)
	require.NoError(t, err)
	seeds := 0
	for _, def := range c.solved {
		for _, e := range execs(t, def) {
			if slices.Contains(e.Meta.Args, cachemounts.SeedCommand) {
				seeds++
			}
		}
	}
	require.Equal(t, 1, seeds)
}
