package llb

import (
	"context"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

const werfFile = `
project: demo
configVersion: 1
---
image: tools
final: false
from: busybox
shell:
  install: [echo install > /stage]
  setup: [echo setup > /stage]
---
image: app
from: busybox
import:
- image: tools
  stage: install
  add: /stage
  to: /from-install
  after: install
- image: tools
  add: /stage
  to: /from-final
  after: install
---
image: web
dockerfile: web.Dockerfile
context: web
target: prod
args: {GREETING: hi}
`

func parseWerf(t *testing.T, text string) *dappfile.Config {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(strings.TrimLeft(text, "\n")), dappfile.ParseOpt{Werf: true})
	require.NoError(t, err)
	return cfg
}

// TestImportFromImageAtStage: `import[].stage` copies from the source
// image as it was right after that stage, the plain import from its
// final state; the `final: false` image is not the default target.
func TestImportFromImageAtStage(t *testing.T) {
	t.Parallel()
	cfg := parseWerf(t, werfFile)
	opt := testOpt()
	res, err := Convert(context.Background(), cfg, withTarget(opt, "app"))
	require.NoError(t, err)
	g := marshal(t, res.State)
	_, imp := g.copyTo(t, "/from-install")
	fa := imp.GetFile()
	require.Len(t, fa.Actions, 2)
	// The first copy's source is tools after install, the second its
	// final state (after setup).
	srcInstall := imp.Inputs[fa.Actions[0].SecondaryInput].Digest
	srcFinal := imp.Inputs[fa.Actions[1].SecondaryInput].Digest
	require.NotEqual(t, srcInstall, srcFinal)
	require.Equal(t, "run echo install > /stage", g.describe(digest.Digest(srcInstall)))
	require.Equal(t, "run echo setup > /stage", g.describe(digest.Digest(srcFinal)))

	_, err = SelectTarget(cfg, "")
	require.ErrorContains(t, err, "defines 2 images (app, web)")
}

// TestDockerfileImageInGraph: a `dockerfile:` image's converted state
// joins the graph: a stapel image builds on it; without a converter the
// image is refused at its `dockerfile:` line.
func TestDockerfileImageInGraph(t *testing.T) {
	t.Parallel()
	src := werfFile + "---\nimage: on-web\nfromImage: web\nshell:\n  setup: [echo on web]\n"
	opt := withTarget(testOpt(), "on-web")
	var seen []string
	opt.ConvertDockerfile = func(ctx context.Context, img *dappfile.Image, p ocispecs.Platform) (*DockerfileResult, error) {
		seen = append(seen, img.Name+" "+img.Dockerfile.Context+"/"+img.Dockerfile.Dockerfile)
		st := bkllb.Image("docker.io/library/busybox:latest").Run(bkllb.Shlex("echo from dockerfile"), bkllb.WithCustomName("dockerfile step")).Root()
		return &DockerfileResult{State: st, Image: emptyImage(p)}, nil
	}
	res, err := Convert(context.Background(), parseWerf(t, src), opt)
	require.NoError(t, err)
	require.Equal(t, []string{"web web/web.Dockerfile"}, seen)
	g := marshal(t, res.State)
	require.Equal(t, []string{"image docker.io/library/busybox:latest", "exec echo from dockerfile", "run echo on web"}, g.steps())

	_, err = Convert(context.Background(), parseWerf(t, werfFile), withTarget(testOpt(), "web"))
	require.ErrorContains(t, err, "25:13: dockerfile images cannot be built here")
}

func withTarget(opt ConvertOpt, target string) ConvertOpt {
	opt.Target = target
	return opt
}

// TestImageSpec: werf's imageSpec drops inherited values first, then sets
// its own, like docker:.
func TestImageSpec(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.ImageResolver = &fakeResolver{config: map[string]any{
		"Env": []string{"PATH=/bin", "DEBUG=1", "GO_VERSION=1"}, "Cmd": []string{"sh"}, "User": "nobody",
		"Labels": map[string]string{"org.opencontainers.image.title": "base", "keep": "yes"},
	}}
	res, err := Convert(context.Background(), parseWerf(t, `
image: app
from: busybox
imageSpec:
  author: team
  config:
    removeEnv: [DEBUG, /GO_.*/]
    removeLabels: [/org\.opencontainers\..*/]
    clearCmd: true
    clearUser: true
    env: {APP: "1"}
    labels: {new: label}
    entrypoint: [/app]
    workingDir: /srv
    expose: ["8080"]
`), opt)
	require.NoError(t, err)
	img := res.Image
	require.Equal(t, "team", img.Author)
	require.Equal(t, []string{"PATH=/bin", "APP=1"}, img.Config.Env)
	require.Equal(t, map[string]string{"keep": "yes", "new": "label"}, img.Config.Labels)
	require.Nil(t, img.Config.Cmd)
	require.Equal(t, []string{"/app"}, img.Config.Entrypoint)
	require.Empty(t, img.Config.User)
	require.Equal(t, "/srv", img.Config.WorkingDir)
	require.Contains(t, img.Config.ExposedPorts, "8080/tcp")
}

// TestMetaImageSpec: build.imageSpec gives every final image its author
// and labels (an image's own win), stapel and Dockerfile images alike,
// and leaves `final: false` images alone.
func TestMetaImageSpec(t *testing.T) {
	t.Parallel()
	src := `
project: p
configVersion: 1
build:
  imageSpec:
    author: platform-team
    config:
      labels: {team: platform, tier: base}
      removeLabels: [/org\..*/]
---
image: app
from: busybox
docker:
  LABEL: {tier: app}
---
image: tools
final: false
from: busybox
---
image: web
dockerfile: Dockerfile
`
	opt := testOpt()
	opt.ImageResolver = &fakeResolver{config: map[string]any{"Labels": map[string]string{"org.x": "1", "keep": "k"}}}
	opt.ConvertDockerfile = func(ctx context.Context, img *dappfile.Image, p ocispecs.Platform) (*DockerfileResult, error) {
		im := emptyImage(p)
		im.Config.Labels = map[string]string{"org.y": "2"}
		return &DockerfileResult{State: bkllb.Scratch(), Image: im}, nil
	}
	cfg := parseWerf(t, src)
	labels := func(target string) (string, map[string]string) {
		res, err := Convert(context.Background(), cfg, withTarget(opt, target))
		require.NoError(t, err)
		return res.Image.Author, res.Image.Config.Labels
	}
	author, l := labels("app")
	require.Equal(t, "platform-team", author)
	require.Equal(t, map[string]string{"keep": "k", "team": "platform", "tier": "app"}, l)
	author, l = labels("tools")
	require.Empty(t, author)
	require.Equal(t, map[string]string{"org.x": "1", "keep": "k"}, l)
	author, l = labels("web")
	require.Equal(t, "platform-team", author)
	require.Equal(t, map[string]string{"team": "platform", "tier": "base"}, l)
}
