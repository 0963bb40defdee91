package llb

import (
	"context"
	"testing"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// ops decodes a marshalled definition, indexed by digest.
func ops(t *testing.T, def *bkllb.Definition) map[digest.Digest]*pb.Op {
	t.Helper()
	out := map[digest.Digest]*pb.Op{}
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		out[digest.FromBytes(dt)] = &op
	}
	return out
}

// execOf marshals a run of ms on an image and returns its ExecOp and all ops.
func execOf(t *testing.T, ms []cachemounts.Mount) (*pb.Op, map[digest.Digest]*pb.Op, *bkllb.Definition) {
	t.Helper()
	opts := append([]bkllb.RunOption{bkllb.Shlex("true")}, cacheRunOptions(ms)...)
	def, err := bkllb.Image("debian:bookworm").Run(opts...).Root().Marshal(context.Background())
	require.NoError(t, err)
	all := ops(t, def)
	for _, op := range all {
		if op.GetExec() != nil {
			return op, all, def
		}
	}
	t.Fatal("no exec op")
	return nil, nil, nil
}

func mountAt(t *testing.T, exec *pb.ExecOp, dest string) *pb.Mount {
	t.Helper()
	for _, m := range exec.Mounts {
		if m.Dest == dest {
			return m
		}
	}
	t.Fatalf("no mount at %s", dest)
	return nil
}

func TestCacheRunOptionsApt(t *testing.T) {
	t.Parallel()
	op, all, _ := execOf(t, cachemounts.Detect([]string{"apt-get update", "apt-get install -y curl"}, cachemounts.Opt{Auto: true}))
	exec := op.GetExec()

	// the root mount is the only output: nothing else can reach the layer
	var outputs []string
	for _, m := range exec.Mounts {
		if m.Output != int64(pb.SkipOutput) {
			outputs = append(outputs, m.Dest)
		}
	}
	require.Equal(t, []string{"/"}, outputs)

	for dest, id := range map[string]string{"/var/cache/apt": "dapp/auto/apt/cache", "/var/lib/apt/lists": "dapp/auto/apt/lists"} {
		m := mountAt(t, exec, dest)
		require.Equal(t, pb.MountType_CACHE, m.MountType)
		require.Equal(t, id, m.CacheOpt.ID)
		require.Equal(t, pb.CacheSharingOpt_PRIVATE, m.CacheOpt.Sharing)
		require.Equal(t, int64(pb.Empty), m.Input, "a root-owned cache starts empty")
	}

	files := 0
	for _, cm := range cachemounts.Detect([]string{"apt-get update", "apt-get install -y curl"}, cachemounts.Opt{Auto: true}) {
		if cm.Type != cachemounts.File {
			continue
		}
		files++
		m := mountAt(t, exec, cm.Target)
		require.Equal(t, pb.MountType_BIND, m.MountType)
		require.True(t, m.Readonly)
		require.Equal(t, "/file", m.Selector)
		src := all[digest.Digest(op.Inputs[m.Input].Digest)]
		mk := src.GetFile().Actions[0].GetMkfile()
		require.NotNil(t, mk)
		require.Equal(t, "/file", mk.Path)
		require.Equal(t, string(cm.Content), string(mk.Data))
	}
	require.Equal(t, 2, files, "docker-clean and the keep-cache file")
}

func TestCacheRunOptionsUserAndTmp(t *testing.T) {
	t.Parallel()
	dirs, _, err := cachemounts.FromDirectives([]*dappfile.Mount{{From: dappfile.MountTmpDir, To: "/tmp/build"}}, cachemounts.Opt{UID: 1000, GID: 1000})
	require.NoError(t, err)
	auto := cachemounts.Detect([]string{"pnpm install"}, cachemounts.Opt{Auto: true, UID: 1000, GID: 1000, Home: "/home/node"})
	op, all, _ := execOf(t, cachemounts.Merge(dirs, auto))
	exec := op.GetExec()

	store := mountAt(t, exec, "/home/node/.local/share/pnpm/store")
	require.Equal(t, pb.MountType_CACHE, store.MountType)
	require.Equal(t, "dapp/auto/pnpm/uid-1000-gid-1000", store.CacheOpt.ID)
	require.Equal(t, pb.CacheSharingOpt_SHARED, store.CacheOpt.Sharing)
	require.Equal(t, "/dir", store.Selector)
	mk := all[digest.Digest(op.Inputs[store.Input].Digest)].GetFile().Actions[0].GetMkdir()
	require.Equal(t, "/dir", mk.Path)
	require.Equal(t, uint32(1000), mk.Owner.User.GetByID())
	require.Equal(t, uint32(1000), mk.Owner.Group.GetByID())

	tmp := mountAt(t, exec, "/tmp/build")
	require.Equal(t, pb.MountType_BIND, tmp.MountType)
	require.False(t, tmp.Readonly)
	require.Equal(t, int64(pb.SkipOutput), tmp.Output, "tmp_dir content is thrown away")

	require.Contains(t, exec.Meta.Env, "npm_config_store_dir=/home/node/.local/share/pnpm/store")
	require.Contains(t, exec.Meta.Env, "pnpm_config_store_dir=/home/node/.local/share/pnpm/store")
}

func TestCacheRunOptionsEnvStaysInStep(t *testing.T) {
	t.Parallel()
	ms := cachemounts.Detect([]string{"pnpm i"}, cachemounts.Opt{Auto: true})
	next := bkllb.Image("node").Run(append([]bkllb.RunOption{bkllb.Shlex("pnpm i")}, cacheRunOptions(ms)...)...).Root()
	_, ok, err := next.GetEnv(context.Background(), "npm_config_store_dir")
	require.NoError(t, err)
	require.False(t, ok, "the next stage must not inherit the step's env")
}

func TestCacheRunOptionsDeterministic(t *testing.T) {
	t.Parallel()
	ms := cachemounts.Detect([]string{"apt-get update && apt-get install -y gcc ccache", "npm ci", "go build ./...", "pnpm i"},
		cachemounts.Opt{Auto: true, UID: 1000, GID: 1000, Home: "/home/app", Env: []string{"GOPATH=/go"}})
	_, _, first := execOf(t, ms)
	for range 25 {
		_, _, def := execOf(t, ms)
		require.Equal(t, first.Def, def.Def)
	}
}

func TestWithMountPoints(t *testing.T) {
	t.Parallel()
	ms, _, err := cachemounts.FromDirectives([]*dappfile.Mount{
		{From: dappfile.MountTmpDir, To: "/tmp/build"},
		{From: dappfile.MountBuildDir, To: "/cache"},
	}, cachemounts.Opt{})
	require.NoError(t, err)
	ms = cachemounts.Merge(ms, cachemounts.Detect([]string{"npm ci"}, cachemounts.Opt{Auto: true}))

	base := bkllb.Image("alpine")
	want, err := base.Marshal(context.Background())
	require.NoError(t, err)
	got, err := withMountPoints(base, nil).Marshal(context.Background())
	require.NoError(t, err)
	require.Equal(t, want.Def, got.Def, "no directives, no file op")

	def, err := withMountPoints(base, ms).Marshal(context.Background())
	require.NoError(t, err)
	var made []string
	for _, op := range ops(t, def) {
		if f := op.GetFile(); f != nil {
			for _, a := range f.Actions {
				made = append(made, a.GetMkdir().Path)
				require.True(t, a.GetMkdir().MakeParents)
			}
		}
	}
	require.ElementsMatch(t, []string{"/cache", "/tmp/build"}, made, "only directive targets, not automatic caches")
}

// TestCacheSharingModes: the mode a cache has in the build step, and in
// the steps that save and seed it. BuildKit finds a cache's instances by
// id and source in every mode, so the transfer steps reach the build's
// directories; they lock a private cache, to read or fill an instance the
// build uses rather than make a new, empty one when all are busy.
func TestCacheSharingModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		commands        []string
		target          string
		build, transfer pb.CacheSharingOpt
	}{
		{"apt archives", []string{"apt-get update && apt-get install -y curl"}, "/var/cache/apt", pb.CacheSharingOpt_PRIVATE, pb.CacheSharingOpt_LOCKED},
		{"apt lists", []string{"apt-get update"}, "/var/lib/apt/lists", pb.CacheSharingOpt_PRIVATE, pb.CacheSharingOpt_LOCKED},
		{"apk", []string{"apk add git"}, "/etc/apk/cache", pb.CacheSharingOpt_PRIVATE, pb.CacheSharingOpt_LOCKED},
		{"dnf", []string{"dnf install -y git"}, "/var/cache/dnf", pb.CacheSharingOpt_PRIVATE, pb.CacheSharingOpt_LOCKED},
		{"maven", []string{"mvn package"}, "/root/.m2/repository", pb.CacheSharingOpt_PRIVATE, pb.CacheSharingOpt_LOCKED},
		{"npm", []string{"npm ci"}, "/root/.npm", pb.CacheSharingOpt_SHARED, pb.CacheSharingOpt_LOCKED},
		{"go build cache", []string{"go build ./..."}, "/root/.cache/go-build", pb.CacheSharingOpt_SHARED, pb.CacheSharingOpt_LOCKED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms := cachemounts.Detect(tc.commands, cachemounts.Opt{Auto: true})
			op, _, _ := execOf(t, ms)
			m := mountAt(t, op.GetExec(), tc.target)
			require.Equal(t, tc.build, m.CacheOpt.Sharing, "build step")

			var cache cachemounts.Mount
			for _, cm := range ms {
				if cm.Target == tc.target {
					cache = cm
				}
			}
			env := TransferEnv{Helper: bkllb.Image("helper")}
			for name, st := range map[string]bkllb.State{
				"save": SaveCacheMounts([]cachemounts.Mount{cache}, env),
				"seed": SeedCacheMounts([]cachemounts.Mount{cache}, bkllb.Image("saved"), env),
			} {
				def, err := st.Marshal(context.Background())
				require.NoError(t, err)
				var got []string
				for _, op := range ops(t, def) {
					for _, m := range op.GetExec().GetMounts() {
						if m.MountType == pb.MountType_CACHE {
							require.Equal(t, cache.ID, m.CacheOpt.ID, name)
							got = append(got, m.CacheOpt.Sharing.String())
						}
					}
				}
				require.Equal(t, []string{tc.transfer.String()}, got, name)
			}
		})
	}
}
