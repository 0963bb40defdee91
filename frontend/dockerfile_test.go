package frontend

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

type busyboxResolver struct{}

func (busyboxResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	dt, err := json.Marshal(map[string]any{"os": "linux", "architecture": "amd64", "rootfs": map[string]any{"type": "layers"},
		"config": map[string]any{"Env": []string{"PATH=/bin"}}})
	return ref, digest.FromString(ref), dt, err
}

func werfImage(t *testing.T, src, name string) *dappfile.Image {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(src), dappfile.ParseOpt{Werf: true})
	require.NoError(t, err)
	for _, im := range cfg.Images {
		if im.Name == name {
			return im
		}
	}
	t.Fatalf("no image %q", name)
	return nil
}

func localSource(dockerfile string) *dockerfileSource {
	main := bkllb.Local("context")
	return &dockerfileSource{data: []byte(dockerfile), mainContext: &main,
		sourceMap: bkllb.NewSourceMap(nil, "web/Dockerfile", "Dockerfile", []byte(dockerfile))}
}

// TestConvertDockerfile: BuildKit's converter builds the image's target
// with its args over the build's own, its hosts and network.
func TestConvertDockerfile(t *testing.T) {
	t.Parallel()
	img := werfImage(t, "image: web\ndockerfile: Dockerfile\ncontext: web\ntarget: prod\nargs: {GREETING: hi}\n"+
		"addHost: [db:10.0.0.2]\nnetwork: none\n", "web")
	df := "FROM busybox AS base\nARG GREETING\nARG OTHER\nRUN echo $GREETING $OTHER > /greeting\n" +
		"FROM base AS prod\nRUN echo prod\nFROM base AS other\nRUN echo other\n"
	base := dockerui.Config{BuildArgs: map[string]string{"GREETING": "overridden", "OTHER": "o"}, Labels: map[string]string{"l": "v"}}
	res, err := convertDockerfile(context.Background(), localSource(df), base, busyboxResolver{}, img, ocispecs.Platform{OS: "linux", Architecture: "amd64"})
	require.NoError(t, err)
	def, err := res.State.Marshal(context.Background())
	require.NoError(t, err)
	var runs []string
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		e := op.GetExec()
		if e == nil {
			continue
		}
		args := strings.Join(e.Meta.Args, " ")
		runs = append(runs, args)
		require.Equal(t, pb.NetMode_NONE, e.Network, args)
		require.Equal(t, []*pb.HostIP{{Host: "db", IP: "10.0.0.2"}}, e.Meta.ExtraHosts, args)
		if strings.Contains(args, "GREETING") {
			require.Contains(t, e.Meta.Env, "GREETING=hi")
			require.Contains(t, e.Meta.Env, "OTHER=o")
		}
	}
	require.Len(t, runs, 2, "target prod runs base and prod, not other: %v", runs)
	require.Empty(t, res.Image.Config.Labels, "labels are applied once, to the result")
}

// TestConvertDockerfileError: a Dockerfile error points at the
// Dockerfile's own line.
func TestConvertDockerfileError(t *testing.T) {
	t.Parallel()
	img := werfImage(t, "image: web\ndockerfile: Dockerfile\ncontext: web\n", "web")
	_, err := convertDockerfile(context.Background(), localSource("FROM busybox\nFROBNICATE x\n"), dockerui.Config{}, busyboxResolver{}, img, ocispecs.Platform{OS: "linux", Architecture: "amd64"})
	require.ErrorContains(t, err, "dockerfile image \"web\" (Dockerfile): ")
	require.ErrorContains(t, err, "unknown instruction: FROBNICATE")
	srcs := errdefs.Sources(err)
	require.Len(t, srcs, 1)
	require.Equal(t, "web/Dockerfile", srcs[0].Info.Filename)
	require.Equal(t, int32(2), srcs[0].Ranges[0].Start.Line)
}
