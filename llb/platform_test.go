package llb

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// One conversion is one platform (the frontend converts once per
// platform asked for): the artifacts an image imports, the artifact it is
// built on and every base image are built for the image's platform, never
// the build machine's.
const platformDappfile = `
artifact: tools
from: golang
git:
- add: /src
  to: /src
shell:
  buildArtifact: [go build -o /out/tool ./...]
---
artifact: runtime
from: debian
shell:
  install: [apt-get install -y ca-certificates]
---
dimg: app
fromDimgArtifact: runtime
git:
- add: /src
  to: /app
import:
- artifact: tools
  add: /out
  to: /usr/local/bin
  after: install
shell:
  install: [make -C /app]
`

func platformRepo(t *testing.T) *testRepo {
	r := newTestRepo(t)
	r.commit(map[string]string{"src/main.go": "package main\n", "src/Makefile": "all:\n"})
	return r
}

var (
	linuxAMD64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = ocispecs.Platform{OS: "linux", Architecture: "arm64"}
)

// platformOf is where an op runs or what it pulls; local and git sources
// carry the marshalling default and are not asked about.
func platformOf(op *pb.Op) string {
	p := op.GetPlatform()
	if p == nil {
		return ""
	}
	return platforms.Format(ocispecs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant})
}

func TestTargetPlatformReachesEveryStep(t *testing.T) {
	t.Parallel()
	for _, target := range []ocispecs.Platform{linuxARM64, linuxAMD64} {
		t.Run(platforms.Format(target), func(t *testing.T) {
			t.Parallel()
			opt := platformRepo(t).opt()
			resolver := &fakeResolver{}
			opt.ImageResolver = resolver
			opt.TargetPlatform = &target
			g, res := convert(t, platformDappfile, opt)
			want := platforms.Format(target)

			// every step of the image, of the artifact it is built on and
			// of the artifact it imports (its git archive and its build)
			for _, step := range []string{"make -C /app", "apt-get install -y ca-certificates", "go build -o /out/tool ./..."} {
				_, op := g.runs(t, step)
				require.Equal(t, want, platformOf(op), "the step %q", step)
			}
			// file ops (imports, git layers) are platform-neutral in LLB:
			// what they copy is the platform's
			_, imp := g.copyTo(t, "/usr/local/bin")
			require.Empty(t, platformOf(imp))
			src := digest.Digest(imp.Inputs[imp.GetFile().Actions[0].SecondaryInput].Digest)
			require.Equal(t, "run go build -o /out/tool ./...", g.describe(src), "the import copies the artifact's build")
			require.Equal(t, want, platformOf(g.ops[src]), "the imported artifact is built for the image's platform")
			var images []string
			for _, d := range g.order {
				op := g.ops[d]
				if s := op.GetSource(); s != nil && strings.HasPrefix(s.Identifier, "docker-image://") {
					images = append(images, g.describe(d))
					require.Equal(t, want, platformOf(op), "the image %s", s.Identifier)
					ref, dgst, _ := strings.Cut(strings.TrimPrefix(s.Identifier, "docker-image://"), "@")
					require.Equal(t, fakeDigest(ref, target).String(), dgst, "%s is pinned to its %s manifest", ref, want)
				}
			}
			require.ElementsMatch(t, []string{"image docker.io/library/golang:latest", "image docker.io/library/debian:latest",
				"image " + DefaultShellToolchainImage}, images)
			for _, asked := range resolver.platforms {
				require.True(t, strings.HasSuffix(asked, " "+want), "resolved for the target platform: %s", asked)
			}
			require.Equal(t, target.OS, res.Image.OS)
			require.Equal(t, target.Architecture, res.Image.Architecture)
		})
	}
}

// Git layers hold the same files on every platform: the same actions with
// the same data, so the same content gives the same layer.
func TestGitLayersSameOnEveryPlatform(t *testing.T) {
	t.Parallel()
	r := platformRepo(t)
	actions := map[string][]byte{}
	for _, target := range []ocispecs.Platform{linuxAMD64, linuxARM64} {
		opt := r.opt()
		opt.TargetPlatform = &target
		opt.Target = "app"
		g, _ := convert(t, platformDappfile, opt)
		_, op := g.fileOn(t, "/app")
		fo := op.GetFile().CloneVT()
		dt, err := fo.MarshalVT()
		require.NoError(t, err)
		actions[platforms.Format(target)] = dt
		require.NotEmpty(t, mkfiles(op))
	}
	require.Equal(t, actions["linux/amd64"], actions["linux/arm64"])
}

// The git-export helper is the frontend's own binary: it runs on the
// build machine's platform while the layer it writes joins the target's.
func TestGitHelperRunsOnBuildPlatform(t *testing.T) {
	t.Parallel()
	opt := bigRepo(t).opt()
	opt.Git.DotGit = func(context.Context) (bkllb.State, error) {
		return bkllb.Local("context", bkllb.LocalUniqueID("test")), nil
	}
	opt.Git.Helper = func(context.Context) (bkllb.State, error) { return bkllb.Image("helper:dev"), nil }
	opt.Git.HelperPlatform = &linuxAMD64
	opt.TargetPlatform = &linuxARM64
	g, _ := convert(t, gitDappfile, opt)
	_, exec := g.runs(t, "/dapp-helper/dapp-frontend git-export ")
	require.Equal(t, "linux/amd64", platformOf(exec))
	_, make := g.runs(t, "make")
	require.Equal(t, "linux/arm64", platformOf(make))
}

// A single-platform base image is served for any platform asked: the
// image is still the target's in its config, and a warning at `from:`
// says the base is not.
func TestSinglePlatformBaseWarns(t *testing.T) {
	t.Parallel()
	named := func(ctx context.Context, ref string, p ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error) {
		if ref != "busybox" {
			return nil, nil, nil
		}
		st := bkllb.Image("registry.test/busybox:amd64-only", bkllb.Platform(p))
		img := &dockerspec.DockerOCIImage{}
		img.Platform = linuxAMD64
		return &st, img, nil
	}
	tests := []struct {
		name, from string
		target     ocispecs.Platform
		warning    string
	}{
		{name: "registry image, other platform", from: "alpine", target: linuxARM64,
			warning: "2:7-2:12: base image alpine is for linux/amd64, not for the target platform linux/arm64"},
		{name: "named context, other platform", from: "busybox", target: linuxARM64,
			warning: "2:7-2:13: base image busybox is for linux/amd64, not for the target platform linux/arm64"},
		{name: "registry image, its platform", from: "alpine", target: linuxAMD64},
		{name: "named context, its platform", from: "busybox", target: linuxAMD64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opt := testOpt()
			opt.ImageResolver = &fakeResolver{only: &linuxAMD64}
			opt.NamedContext = named
			opt.ImageShell = true
			opt.TargetPlatform = &tt.target
			var warnings []string
			opt.Warn = func(w dappfile.Warning) { warnings = append(warnings, w.Range.String()+": "+w.Message) }
			_, res := convert(t, "dimg: app\nfrom: "+tt.from+"\nshell:\n  install: [x]\n", opt)
			require.Equal(t, tt.target.Architecture, res.Image.Architecture, "the config names the target platform")
			require.Equal(t, tt.target.OS, res.Image.OS)
			if tt.warning == "" {
				require.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1)
			require.True(t, strings.HasPrefix(warnings[0], tt.warning), warnings[0])
		})
	}
}

// Without a target platform the base's own platform stays (as BuildKit
// keeps an implicit target's), filled in where its config has none.
func TestNoTargetPlatformKeepsBasePlatform(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.ImageResolver = &fakeResolver{only: &linuxARM64}
	opt.ImageShell = true
	_, res := convert(t, "dimg: app\nfrom: alpine\n", opt)
	require.Equal(t, "arm64", res.Image.Architecture)

	opt.NamedContext = func(ctx context.Context, ref string, p ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error) {
		st := bkllb.Image("registry.test/x")
		return &st, &dockerspec.DockerOCIImage{}, nil
	}
	_, res = convert(t, "dimg: app\nfrom: alpine\n", opt)
	def := platforms.Normalize(platforms.DefaultSpec())
	require.Equal(t, def.OS, res.Image.OS, "a config without a platform gets the build's")
	require.Equal(t, def.Architecture, res.Image.Architecture)
}

// In a build for several platforms, each platform's steps say which
// platform they are for: progress lines and step errors name it.
func TestMultiPlatformStepNames(t *testing.T) {
	t.Parallel()
	opt := platformRepo(t).opt()
	opt.TargetPlatform = &linuxARM64
	opt.ImageShell = true
	opt.Target = "app"
	g, _ := convert(t, platformDappfile, opt)
	d, _ := g.runs(t, "make -C /app")
	require.Equal(t, "[app] install: make -C /app", g.name(d), "one platform: no prefix")

	opt.MultiPlatform = true
	g, _ = convert(t, platformDappfile, opt)
	var names []string
	for _, d := range g.order {
		if n := g.name(d); strings.HasPrefix(n, "[") && !strings.HasPrefix(n, "[internal]") && !strings.HasPrefix(n, "[dapp]") {
			names = append(names, n)
		}
	}
	require.Contains(t, names, "[linux/arm64 app] install: make -C /app")
	require.Contains(t, names, "[linux/arm64 tools] import → app (after install)")
	require.Contains(t, names, "[linux/arm64 runtime] install: apt-get install -y ca-certificates")
	for _, n := range names {
		require.True(t, strings.HasPrefix(n, "[linux/arm64 "), "every step names the platform: %s", n)
	}
}

// A toolchain pushed for one platform is served for every platform: the
// stages of another platform are warned that its binaries are foreign.
func TestSinglePlatformToolchainWarns(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		target ocispecs.Platform
		warns  bool
	}{{linuxARM64, true}, {linuxAMD64, false}} {
		t.Run(platforms.Format(tt.target), func(t *testing.T) {
			t.Parallel()
			opt := testOpt()
			opt.ImageResolver = &fakeResolver{only: &linuxAMD64}
			opt.TargetPlatform = &tt.target
			var warnings []string
			opt.Warn = func(w dappfile.Warning) { warnings = append(warnings, w.Message) }
			convert(t, "dimg: app\nfrom: alpine\nshell:\n  install: [x]\n  setup: [y]\n", opt)
			var toolchain []string
			for _, w := range warnings {
				if strings.HasPrefix(w, "toolchain image ") {
					toolchain = append(toolchain, w)
				}
			}
			if !tt.warns {
				require.Empty(t, toolchain)
				return
			}
			require.Equal(t, []string{"toolchain image " + DefaultShellToolchainImage + " is for linux/amd64, not for linux/arm64: " +
				"shell and ansible stages of this platform run its binaries, which work only where linux/amd64 binaries run; " +
				"push the toolchain for linux/arm64 too, or run shell stages with the image's /bin/sh (shell=image)"}, toolchain, "one warning per platform")
		})
	}
}
