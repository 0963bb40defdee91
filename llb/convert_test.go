package llb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

func TestStageChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		target string
		want   []string
	}{
		{
			name: "all four shell stages",
			file: `
dimg: app
from: alpine
shell:
  beforeInstall: [apk add curl]
  install: npm ci
  beforeSetup: [echo bs]
  setup: [make, make install]
`,
			want: []string{"image docker.io/library/alpine:latest", "run apk add curl", "run npm ci", "run echo bs", "run make\nmake install"},
		},
		{
			name: "empty stages add no vertex",
			file: `
dimg: app
from: alpine
shell:
  install: []
  setup: [make]
`,
			want: []string{"image docker.io/library/alpine:latest", "run make"},
		},
		{
			name: "artifact runs buildArtifact last",
			file: `
dimg: app
from: alpine
---
artifact: tools
from: alpine
shell:
  buildArtifact: [go build]
  setup: [go mod download]
`,
			target: "tools",
			want:   []string{"image docker.io/library/alpine:latest", "run go mod download", "run go build"},
		},
		{
			name: "asLayers gives each command its own step",
			file: `
dimg: app
from: alpine
asLayers: true
shell:
  install: [a, b]
`,
			want: []string{"image docker.io/library/alpine:latest", "run a", "run b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opt := testOpt()
			opt.Target = tc.target
			g, _ := convert(t, tc.file, opt)
			require.Equal(t, tc.want, g.steps())
		})
	}
}

func TestUserStageExec(t *testing.T) {
	t.Parallel()
	g, _ := convert(t, `
dimg: app
from: alpine
shell:
  install:
  - cd /src
  - make
`, testOpt())
	_, op := g.run(t, "cd /src\nmake")
	exec := op.GetExec()
	require.Equal(t, []string{toolchainBash, "-ec", "cd /src\nmake"}, exec.Meta.Args)
	require.Equal(t, "/", exec.Mounts[0].Dest)
	for _, e := range exec.Meta.Env {
		require.False(t, strings.HasPrefix(e, cacheVersionEnv+"="), "no cacheVersion, no variable: %v", exec.Meta.Env)
	}
	tc := exec.Mounts[len(exec.Mounts)-1]
	require.Equal(t, ToolchainPrefix, tc.Dest)
	require.Equal(t, ToolchainPrefix, tc.Selector)
	require.True(t, tc.Readonly)
	src := g.ops[digest.Digest(op.Inputs[tc.Input].Digest)].GetSource()
	require.Equal(t, "docker-image://"+DefaultShellToolchainImage+"@"+fakeDigest(DefaultShellToolchainImage, platforms.Normalize(platforms.DefaultSpec())).String(), src.Identifier,
		"a shell stage mounts the shell toolchain, pinned to the digest the resolver returns")
}

func TestUserStageImageShell(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.ImageShell = true
	g, _ := convert(t, "dimg: app\nfrom: alpine\nshell:\n  install: [make]\n", opt)
	_, op := byName(t, g, "[app] install")
	exec := op.GetExec()
	require.Equal(t, []string{"/bin/sh", "-ec", "make"}, exec.Meta.Args)
	for _, m := range exec.Mounts {
		require.NotEqual(t, ToolchainPrefix, m.Dest, "shell=image mounts no toolchain")
	}
}

func TestCacheVersionChangesDigests(t *testing.T) {
	t.Parallel()
	base := `
dimg: app
from: alpine
%s
shell:
  %s
  beforeInstall: [a]
  install: [b]
`
	digestsOf := func(from, shell string) (string, string) {
		g, _ := convert(t, strings.Replace(strings.Replace(base, "%s", from, 1), "%s", shell, 1), testOpt())
		bi, _ := g.run(t, "a")
		in, _ := g.run(t, "b")
		return bi.String(), in.String()
	}
	bi0, in0 := digestsOf("", "")
	bi1, in1 := digestsOf("", `installCacheVersion: "2"`)
	require.Equal(t, bi0, bi1, "installCacheVersion must not touch beforeInstall")
	require.NotEqual(t, in0, in1)
	bi2, in2 := digestsOf("", `cacheVersion: "2"`)
	require.NotEqual(t, bi0, bi2)
	require.NotEqual(t, in0, in2)
	bi3, in3 := digestsOf(`fromCacheVersion: "x"`, "")
	require.NotEqual(t, bi0, bi3)
	require.NotEqual(t, in0, in3)
}

func TestImportAfterInstall(t *testing.T) {
	t.Parallel()
	g, _ := convert(t, `
artifact: assets
from: node
shell:
  buildArtifact: [npm run build]
---
dimg: app
from: alpine
shell:
  install: [echo install]
  setup: [echo setup]
import:
- artifact: assets
  add: /app/public
  to: /srv/public
  after: install
  includePaths: ['**/*.js']
  excludePaths: [maps]
  owner: www
  group: www
`, testOpt())
	require.Equal(t, []string{
		"image docker.io/library/alpine:latest", "run echo install",
		"file copy /app/public → /srv/public", "run echo setup",
	}, g.steps())
	_, op := g.copyTo(t, "/srv/public")
	actions := op.GetFile().Actions
	require.Len(t, actions, 1)
	cp := actions[0].GetCopy()
	require.Equal(t, "/app/public", cp.Src)
	require.Equal(t, "/srv/public", cp.Dest)
	require.Equal(t, []string{"**/*.js"}, cp.IncludePatterns)
	require.Equal(t, []string{"maps"}, cp.ExcludePatterns)
	require.True(t, cp.DirCopyContents)
	require.True(t, cp.CreateDestPath)
	require.Equal(t, "www", cp.Owner.User.GetByName().Name)
	require.Equal(t, "www", cp.Owner.Group.GetByName().Name)
	// The copy's source is the artifact's last step, a separate subgraph.
	src := g.ops[digest.Digest(op.Inputs[actions[0].SecondaryInput].Digest)]
	require.Equal(t, []string{toolchainBash, "-ec", "npm run build"}, src.GetExec().Meta.Args)
}

func TestImportPointsInOrder(t *testing.T) {
	t.Parallel()
	g, _ := convert(t, `
artifact: a
from: alpine
shell:
  buildArtifact: [x]
---
dimg: app
from: alpine
shell:
  beforeInstall: [bi]
  install: [i]
  beforeSetup: [bs]
  setup: [s]
import:
- {artifact: a, add: /1, before: install}
- {artifact: a, add: /2, after: install}
- {artifact: a, add: /3, before: setup}
- {artifact: a, add: /4, after: setup}
`, testOpt())
	require.Equal(t, []string{
		"image docker.io/library/alpine:latest", "run bi",
		"file copy /1 → /1", "run i",
		"file copy /2 → /2", "run bs",
		"file copy /3 → /3", "run s",
		"file copy /4 → /4",
	}, g.steps())
}

// TestVertexNames: the progress names are what users see of the chain:
// the source, then "[image] stage: commands", imports named by artifact
// and point.
func TestVertexNames(t *testing.T) {
	t.Parallel()
	g, _ := convert(t, `
artifact: a
from: alpine
shell:
  buildArtifact: [x]
---
dimg: app
from: alpine
shell:
  beforeInstall: [apk add curl]
  install: npm ci
  setup: [make, make install]
import:
- {artifact: a, add: /1, after: install}
`, testOpt())
	require.Equal(t, []string{
		"from docker.io/library/alpine:latest", "[app] beforeInstall: apk add curl", "[app] install: npm ci",
		"[a] import → app (after install)", "[app] setup: make && make install",
	}, g.chain())
}

func TestFromDimgBuildsOnOtherImage(t *testing.T) {
	t.Parallel()
	file := `
dimg: base
from: alpine
shell:
  install: [base-step]
docker:
  ENV: {BASE: "1"}
---
dimg: app
fromDimg: base
shell:
  setup: [app-step]
docker:
  CMD: [run]
`
	opt := testOpt()
	opt.Target = "app"
	g, res := convert(t, file, opt)
	require.Equal(t, []string{"image docker.io/library/alpine:latest", "run base-step", "run app-step"}, g.steps())
	require.Contains(t, res.Image.Config.Env, "BASE=1")
	require.Equal(t, []string{"run"}, res.Image.Config.Cmd)
}

func TestDockerConfig(t *testing.T) {
	t.Parallel()
	_, res := convert(t, `
dimg: app
from: alpine
docker:
  VOLUME: [/data]
  EXPOSE: ['80', '53/udp']
  ENV: {TERM: xterm, PATH: /app/bin}
  LABEL: {team: web}
  ENTRYPOINT: [/app/start]
  WORKDIR: /app
  USER: app
  STOPSIGNAL: SIGTERM
`, testOpt())
	c := res.Image.Config
	require.Equal(t, map[string]struct{}{"/data": {}}, c.Volumes)
	require.Equal(t, map[string]struct{}{"80/tcp": {}, "53/udp": {}}, c.ExposedPorts)
	require.Equal(t, []string{"PATH=/app/bin", "TERM=xterm"}, c.Env)
	require.Equal(t, map[string]string{"team": "web"}, c.Labels)
	require.Equal(t, []string{"/app/start"}, c.Entrypoint)
	require.Nil(t, c.Cmd, "ENTRYPOINT without CMD drops the base image's CMD")
	require.Equal(t, "/app", c.WorkingDir)
	require.Equal(t, "app", c.User)
	require.Equal(t, "SIGTERM", c.StopSignal)
	require.Equal(t, "linux", res.Image.OS)
}

func TestShellFormCommand(t *testing.T) {
	t.Parallel()
	_, res := convert(t, `
dimg: app
from: alpine
docker:
  CMD: exec nginx -g 'daemon off;'
`, testOpt())
	require.Equal(t, []string{"/bin/sh", "-c", "exec nginx -g 'daemon off;'"}, res.Image.Config.Cmd)
}

func TestLabelsOption(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.Labels = map[string]string{"team": "ops", "build": "42"}
	_, res := convert(t, "dimg: app\nfrom: alpine\ndocker:\n  LABEL: {team: web}\n", opt)
	require.Equal(t, map[string]string{"team": "ops", "build": "42"}, res.Image.Config.Labels)
}

func TestNamedContextReplacesFrom(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	resolver := &fakeResolver{}
	opt.ImageResolver = resolver
	opt.ImageShell = true // no toolchain to resolve
	opt.NamedContext = func(ctx context.Context, ref string, p ocispecs.Platform) (*bkllb.State, *dockerspec.DockerOCIImage, error) {
		if ref != "alpine" {
			return nil, nil, nil
		}
		st := bkllb.Image("registry.test/mirror/alpine:3")
		img := &dockerspec.DockerOCIImage{}
		img.Config.Env = []string{"MIRROR=1"}
		return &st, img, nil
	}
	g, res := convert(t, "dimg: app\nfrom: alpine\nshell:\n  install: [x]\n", opt)
	_, op := g.run(t, "x")
	src := g.ops[digest.Digest(op.Inputs[0].Digest)].GetSource()
	require.Equal(t, "docker-image://registry.test/mirror/alpine:3", src.Identifier)
	require.Equal(t, []string{"MIRROR=1"}, res.Image.Config.Env)
	require.Empty(t, resolver.asked, "a named context is not resolved from a registry")
}

func TestSourceLocations(t *testing.T) {
	t.Parallel()
	text := "dimg: app\nfrom: alpine\nshell:\n  install:\n  - make\n"
	cfg := parse(t, text)
	opt := testOpt()
	opt.SourceMap = bkllb.NewSourceMap(nil, "Dappfile", "YAML", []byte(text))
	res, err := Convert(context.Background(), cfg, opt)
	require.NoError(t, err)
	g := marshal(t, res.State)
	d, _ := g.run(t, "make")
	locs := g.def.Source.Locations[d.String()]
	require.NotNil(t, locs, "install has a source location")
	require.Equal(t, int32(5), locs.Locations[0].Ranges[0].Start.Line, "install points at its command list")
}

func TestTargetSelection(t *testing.T) {
	t.Parallel()
	two := "dimg: a\nfrom: alpine\n---\ndimg: b\nfrom: alpine\n---\nartifact: my tools\nfrom: alpine\n"
	tests := []struct {
		name, file, target, want, err string
	}{
		{name: "only image", file: "dimg: a\nfrom: alpine\n---\nartifact: t\nfrom: alpine\n", want: "a"},
		{name: "nameless image", file: "dimg: ~\nfrom: alpine\n", want: ""},
		{name: "named target", file: two, target: "b", want: "b"},
		{name: "artifact target with spaces", file: two, target: "my tools", want: "my tools"},
		{name: "several images need a target", file: two, err: "defines 2 images (a, b): pick one with --target NAME"},
		{name: "unknown target suggests", file: two, target: "bb", err: `target "bb" could not be found; available: a, b, my tools`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, tc.file)
			img, err := SelectTarget(cfg, tc.target)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, img.Name)
		})
	}
	_, err := SelectTarget(parse(t, two), "bb")
	require.ErrorContains(t, err, "(did you mean b?)")
}

func TestUnknownBaseIsLocated(t *testing.T) {
	t.Parallel()
	cfg := &dappfile.Config{Images: []*dappfile.Image{{
		Name: "app", FromDimg: "missing", FromLoc: dappfile.Range{Start: dappfile.Position{Line: 2, Column: 11}},
	}}}
	_, err := Convert(context.Background(), cfg, testOpt())
	require.ErrorContains(t, err, `2:11: unknown dimg or artifact "missing"`)
	require.Equal(t, 2, dappfile.Locations(err)[0].Start.Line)
}

func TestDeterministicLLB(t *testing.T) {
	t.Parallel()
	file := `
artifact: a
from: alpine
shell: {buildArtifact: [x]}
---
artifact: b
from: alpine
shell: {buildArtifact: [y]}
---
dimg: app
from: alpine
docker:
  ENV: {A: "1", B: "2", C: "3"}
  LABEL: {x: "1", y: "2", z: "3"}
import:
- {artifact: a, add: /a, after: install}
- {artifact: b, add: /b, after: install}
`
	first, _ := convert(t, file, testOpt())
	for range 25 {
		g, _ := convert(t, file, testOpt())
		require.Equal(t, first.def.Def, g.def.Def)
	}
}

// exampleChains is the stage chain each example target must show, by
// structure (see graph.describe): each step starts with the given text.
var exampleChains = map[string][]string{
	"basic/app": {"image docker.io/library/busybox:latest", "run mkdir -p /app /var/log/app\n", "run echo \"dependencies\"",
		"run echo \"config\"", "run echo '#!/bin/sh' > /app/start\n"},
	"artifact/app":       {"image docker.io/library/busybox:latest", "run mkdir -p /srv", "run echo installed", "file copy /out → /usr/local/bin"},
	"artifact/builder":   {"image docker.io/library/busybox:latest", "run mkdir -p /opt/toolchain /out\n", "run printf "},
	"multi-image/base":   {"image docker.io/library/busybox:latest", "run mkdir -p /opt/base\n"},
	"multi-image/api":    {"image docker.io/library/busybox:latest", "run mkdir -p /opt/base\n", "run echo api > "},
	"multi-image/worker": {"image docker.io/library/busybox:latest", "run echo worker > "},
	"templates/app":      {"image docker.io/library/busybox:latest", "run mkdir -p /app\n", "run echo \"1.2.3\" > /app/VERSION\n"},
	"ansible/app":        {"image docker.io/library/debian:bookworm", "exec " + ansibleExec, "exec " + ansibleExec, "exec " + ansibleExec},
}

func TestExamplesConvert(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("../examples/*/Dappfile")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	seen := 0
	for _, p := range dirs {
		example := filepath.Base(filepath.Dir(p))
		dir := filepath.Dir(p)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		cfg, _, err := dappfile.Load(data, dappfile.LoadOpt{Context: dappfile.DirFS(dir)})
		require.NoError(t, err, example)
		for _, name := range imageNames(cfg) {
			want, ok := exampleChains[example+"/"+name]
			require.True(t, ok, "no expected chain for %s/%s: add it to exampleChains", example, name)
			seen++
			opt := testOpt()
			opt.Target = name
			res, err := Convert(context.Background(), cfg, opt)
			require.NoError(t, err, name)
			got := marshal(t, res.State).steps()
			require.Len(t, got, len(want), "%s/%s: %v", example, name, got)
			for i := range want {
				require.True(t, strings.HasPrefix(got[i], want[i]), "%s/%s step %d: %q does not start with %q", example, name, i, got[i], want[i])
			}
		}
	}
	require.Equal(t, len(exampleChains), seen, "every expected chain was checked")
}

func imageNames(cfg *dappfile.Config) []string {
	var out []string
	for _, img := range cfg.Images {
		out = append(out, img.Name)
	}
	return out
}
