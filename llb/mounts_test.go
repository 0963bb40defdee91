package llb

import (
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/require"
)

func cacheMounts(op *pb.Op) map[string]*pb.Mount {
	out := map[string]*pb.Mount{}
	for _, m := range op.GetExec().Mounts {
		if m.MountType == pb.MountType_CACHE {
			out[m.Dest] = m
		}
	}
	return out
}

func TestAutomaticCacheMounts(t *testing.T) {
	t.Parallel()
	file := `
dimg: app
from: debian
shell:
  beforeInstall: [apt-get update, apt-get install -y curl]
  install: [npm ci]
  setup: [echo no tools here]
`
	opt := testOpt()
	opt.AutoCache = true
	g, _ := convert(t, file, opt)
	_, bi := g.run(t, "apt-get update\napt-get install -y curl")
	apt := cacheMounts(bi)
	require.Contains(t, apt, "/var/cache/apt")
	require.Contains(t, apt, "/var/lib/apt/lists")
	require.Equal(t, pb.CacheSharingOpt_PRIVATE, apt["/var/cache/apt"].CacheOpt.Sharing)
	_, in := g.run(t, "npm ci")
	require.Contains(t, cacheMounts(in), "/root/.npm")
	_, setup := g.run(t, "echo no tools here")
	require.Empty(t, cacheMounts(setup))

	opt.AutoCache = false
	g, _ = convert(t, file, opt)
	_, bi = g.run(t, "apt-get update\napt-get install -y curl")
	require.Empty(t, cacheMounts(bi), "auto-cache=false turns them off")
}

func TestMountDirectives(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.Project = "shop"
	g, _ := convert(t, `
dimg: app
from: alpine
mount:
- from: build_dir
  to: /var/cache/build
- from: tmp_dir
  to: /tmp/work
shell:
  install: [make]
`, opt)
	_, in := g.run(t, "make")
	build := cacheMounts(in)["/var/cache/build"]
	require.NotNil(t, build)
	require.Contains(t, build.CacheOpt.ID, "shop")
	require.Equal(t, []string{"image docker.io/library/alpine:latest", "run make", "file mkdir /tmp/work, mkdir /var/cache/build"}, g.steps())
	_, mp := g.fileOn(t, "/tmp/work")
	var dirs []string
	for _, a := range mp.GetFile().Actions {
		dirs = append(dirs, a.GetMkdir().Path)
	}
	require.ElementsMatch(t, []string{"/var/cache/build", "/tmp/work"}, dirs)
}
