package llb

import (
	"context"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	digest "github.com/opencontainers/go-digest"
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

// dockerfileLoader serves one Dockerfile from memory, with a local
// context, as the frontend does through the gateway.
func dockerfileLoader(t *testing.T, dockerfile string, seen *[]*dappfile.Image) func(context.Context, *dappfile.Image) (*DockerfileSource, error) {
	return func(ctx context.Context, img *dappfile.Image) (*DockerfileSource, error) {
		*seen = append(*seen, img)
		main := bkllb.Local("context")
		return &DockerfileSource{
			Data:        []byte(dockerfile),
			SourceMap:   bkllb.NewSourceMap(nil, img.Dockerfile.Dockerfile, "Dockerfile", []byte(dockerfile)),
			MainContext: &main,
		}, nil
	}
}

func parseWerf(t *testing.T, text string) *dappfile.Config {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(strings.TrimLeft(text, "\n")), dappfile.ParseOpt{Filename: "werf.yaml"})
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
	_, imp := g.byName(t, "[tools] import → app")
	fa := imp.GetFile()
	require.Len(t, fa.Actions, 2)
	// The first copy's source is tools after install, the second its
	// final state (after setup).
	srcInstall := imp.Inputs[fa.Actions[0].SecondaryInput].Digest
	srcFinal := imp.Inputs[fa.Actions[1].SecondaryInput].Digest
	require.NotEqual(t, srcInstall, srcFinal)
	require.True(t, strings.HasPrefix(g.name(digest.Digest(srcInstall)), "[tools] install"), g.name(digest.Digest(srcInstall)))
	require.True(t, strings.HasPrefix(g.name(digest.Digest(srcFinal)), "[tools] setup"), g.name(digest.Digest(srcFinal)))

	_, err = SelectTarget(cfg, "")
	require.ErrorContains(t, err, "defines 2 images (app, web)")
}

// TestDockerfileImage: a `dockerfile:` image is converted by BuildKit's
// Dockerfile converter with the image's target and args, and a stapel
// image can build on it.
func TestDockerfileImage(t *testing.T) {
	t.Parallel()
	const dockerfile = "FROM busybox AS base\nARG GREETING\nRUN echo $GREETING > /greeting\nFROM base AS prod\nRUN echo prod\nFROM base AS other\nRUN echo other\n"
	var seen []*dappfile.Image
	opt := withTarget(testOpt(), "web")
	opt.LoadDockerfile = dockerfileLoader(t, dockerfile, &seen)
	res, err := Convert(context.Background(), parseWerf(t, werfFile), opt)
	require.NoError(t, err)
	require.Len(t, seen, 1)
	g := marshal(t, res.State)
	var runs []string
	for _, d := range g.order {
		if e := g.ops[d].GetExec(); e != nil {
			runs = append(runs, strings.Join(e.Meta.Args, " "))
			if strings.Contains(strings.Join(e.Meta.Args, " "), "GREETING") {
				require.Contains(t, e.Meta.Env, "GREETING=hi")
			}
		}
	}
	require.Len(t, runs, 2, "target prod runs base and prod, not other: %v", runs)

	// Without a loader the image is refused at its `dockerfile:` line.
	_, err = Convert(context.Background(), parseWerf(t, werfFile), withTarget(testOpt(), "web"))
	require.ErrorContains(t, err, "werf.yaml:25:13: dockerfile images cannot be built here")
}

// TestDockerfileErrorIsSourceMapped: a Dockerfile error points at the
// Dockerfile's line.
func TestDockerfileErrorIsSourceMapped(t *testing.T) {
	t.Parallel()
	var seen []*dappfile.Image
	opt := withTarget(testOpt(), "web")
	opt.LoadDockerfile = dockerfileLoader(t, "FROM busybox\nFROBNICATE x\n", &seen)
	_, err := Convert(context.Background(), parseWerf(t, werfFile), opt)
	require.ErrorContains(t, err, "unknown instruction: FROBNICATE")
	srcs := errdefs.Sources(err)
	require.Len(t, srcs, 1)
	require.Equal(t, "web.Dockerfile", srcs[0].Info.Filename)
	require.Equal(t, int32(2), srcs[0].Ranges[0].Start.Line)
}

func withTarget(opt ConvertOpt, target string) ConvertOpt {
	opt.Target = target
	return opt
}
