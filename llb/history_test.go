package llb

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// historyResolver answers every image with a config of two layers and a
// history that counts them (plus an empty entry), or, with broken, one
// that does not.
type historyResolver struct{ broken bool }

func (r historyResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	img := dockerspec.DockerOCIImage{}
	img.OS, img.Architecture = "linux", "amd64"
	img.RootFS = ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("l1"), digest.FromString("l2")}}
	img.History = []ocispecs.History{
		{Created: &base, CreatedBy: "ADD rootfs.tar /"},
		{Created: &base, CreatedBy: "ENV A=1", EmptyLayer: true},
		{Created: &base, CreatedBy: "RUN setup"},
	}
	if r.broken {
		img.History = img.History[:2]
	}
	dt, err := json.Marshal(img)
	return ref, digest.FromString(ref), dt, err
}

// layerHistory is the history entries of the layers above the base
// image's two, and the vertices that make those layers: the ops of the
// chain above its source, each one layer.
func layerHistory(t *testing.T, g *graph, img *dockerspec.DockerOCIImage) (entries []ocispecs.History, layers []digest.Digest) {
	t.Helper()
	for _, d := range g.chainOps() {
		if g.ops[d].GetSource() == nil {
			layers = append(layers, d)
		}
	}
	var seen int
	for _, h := range img.History {
		if h.EmptyLayer {
			continue
		}
		if seen++; seen > 2 {
			entries = append(entries, h)
		}
	}
	return entries, layers
}

const historyDappfile = `
artifact: tools
from: alpine
shell:
  install: [make tools]
---
dimg: base
from: alpine
mount:
- from: tmp_dir
  to: /var/scratch
shell:
  beforeInstall: [apk add git]
---
dimg: app
fromDimg: base
asLayers: true
import:
- artifact: tools
  add: /usr/bin/tools
  to: /usr/bin/tools
  after: install
shell:
  install: [a, b]
  setup: [c]
docker:
  WORKDIR: /app
`

// TestHistoryOneEntryPerLayer: the image config names every layer the
// Dappfile adds, in order, by its vertex's name and at the epoch, after
// the base image's own history; so the exporter, which describes the
// layers a config leaves out from whatever snapshot it holds (a command
// on one runner, "imported sha256:…" on another), has none to add.
func TestHistoryOneEntryPerLayer(t *testing.T) {
	t.Parallel()
	epoch := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	repo := newTestRepo(t)
	repo.commit(map[string]string{"src/package.json": "{}", "src/main.js": "main"})
	repo.commit(map[string]string{"src/main.js": "main 2"})
	gitOpt := repo.opt()

	type tc struct {
		name, dappfile, target string
		opt                    ConvertOpt
		want                   []string
	}
	cases := []tc{
		{name: "fromDimg, asLayers, imports, mount points", dappfile: historyDappfile, target: "app", opt: testOpt(),
			want: []string{"[base] beforeInstall: apk add git", "[base] mountPoints", "[app] install: a", "[app] install: b",
				"[tools] import → app (after install)", "[app] setup: c"}},
		{name: "artifact", dappfile: historyDappfile, target: "tools", opt: testOpt(),
			want: []string{"[tools] install: make tools"}},
		{name: "git archive and latest patch", dappfile: "dimg: app\nfrom: alpine\ngit:\n- add: /src\n  to: /app\n  stageDependencies:\n    install: [package.json]\nshell:\n  install: [npm ci]\n",
			opt: gitOpt, want: []string{"[app] gitArchive", "[app] install: npm ci", "[app] gitLatestPatch"}},
	}
	examples, err := filepath.Glob("../examples/*/Dappfile")
	require.NoError(t, err)
	for _, p := range examples {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		cfg, _, err := dappfile.Load(data, dappfile.LoadOpt{Context: dappfile.DirFS(filepath.Dir(p))})
		require.NoError(t, err, p)
		for _, name := range imageNames(cfg) {
			cases = append(cases, tc{name: filepath.Base(filepath.Dir(p)) + "/" + name, target: name, opt: testOpt()})
		}
	}
	for _, c := range cases {
		c.opt.ImageResolver = historyResolver{}
		c.opt.Epoch = &epoch
		c.opt.Target = c.target
		var cfg *dappfile.Config
		if c.dappfile != "" {
			cfg = parse(t, c.dappfile)
		} else {
			dir := filepath.Join("..", "examples", filepath.Dir(c.name))
			data, err := os.ReadFile(filepath.Join(dir, "Dappfile"))
			require.NoError(t, err)
			cfg, _, err = dappfile.Load(data, dappfile.LoadOpt{Context: dappfile.DirFS(dir)})
			require.NoError(t, err)
		}
		res, err := Convert(context.Background(), cfg, c.opt)
		require.NoError(t, err, c.name)
		g := marshal(t, res.State)
		entries, layers := layerHistory(t, g, res.Image)
		require.Len(t, entries, len(layers), "%s: one history entry per layer: %v for %v", c.name, entries, g.chain())
		var got []string
		for i, h := range entries {
			require.Equal(t, g.name(layers[i]), h.CreatedBy, "%s: entry %d is the layer's vertex", c.name, i)
			require.Equal(t, &epoch, h.Created, "%s: %s", c.name, h.CreatedBy)
			got = append(got, h.CreatedBy)
		}
		if c.want != nil {
			require.Equal(t, c.want, got, c.name)
		}
		require.Equal(t, "ADD rootfs.tar /", res.Image.History[0].CreatedBy, "%s: the base's history comes first", c.name)
	}
}

// TestHistoryLeftToExporter: when the base's layers cannot be named one
// by one, the conversion writes no entry, rather than entries that name
// the wrong layers; the exporter describes them as it always did.
func TestHistoryLeftToExporter(t *testing.T) {
	t.Parallel()
	const text = "dimg: app\nfrom: alpine\nshell:\n  install: [x]\n"

	opt := testOpt()
	opt.ImageResolver = historyResolver{broken: true}
	_, res := convert(t, text, opt)
	require.Len(t, res.Image.History, 2, "a base whose history does not count its layers keeps it as it is")

	for _, nc := range []struct {
		name  string
		state bkllb.State
		img   *dockerspec.DockerOCIImage
		want  int
	}{
		{"local context without a config", bkllb.Local("base"), nil, 0},
		{"scratch", bkllb.Scratch(), nil, 1},
	} {
		opt := testOpt()
		opt.ImageShell = true
		opt.NamedContext = func(ctx context.Context, ref string, p ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error) {
			return &nc.state, nc.img, nil
		}
		_, res := convert(t, text, opt)
		require.Len(t, res.Image.History, nc.want, nc.name)
	}
}
