package dappfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dedent lets test inputs be indented in Go source: it removes the first
// line's indentation from every line and a leading newline.
func dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	indent := s[:len(s)-len(strings.TrimLeft(s, "\t"))]
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, "\n")
}

func parse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, _, err := Parse([]byte(dedent(src)), ParseOpt{})
	require.NoError(t, err)
	return cfg
}

func TestParseImage(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		# syntax=flant/dapp-frontend
		dimg: app
		from: debian:bookworm
		fromCacheVersion: 1
		git:
		- to: /app
		  includePaths: src
		  stageDependencies:
		    install: package.json
		    setup: ['**/*']
		- url: https://example.com/lib.git
		  tag: v1.2.0
		  add: /lib
		  to: /opt/lib
		  as: lib
		shell:
		  beforeInstall: apt-get update
		  install: [npm ci, npm prune]
		  cacheVersion: 2
		  installCacheVersion: x
		asLayers: yes
		`)
	require.Len(t, cfg.Images, 1)
	im := cfg.Images[0]
	require.Equal(t, KindImage, im.Kind)
	require.Equal(t, "app", im.Name)
	require.Equal(t, "debian:bookworm", im.From)
	require.Equal(t, Range{Start: Position{3, 7}, End: Position{3, 21}}, im.FromLoc)
	require.Equal(t, "1", im.FromCacheVersion)
	require.True(t, im.AsLayers)
	require.Len(t, im.Git, 2)
	require.Equal(t, "/", im.Git[0].Add)
	require.Equal(t, []string{"src"}, im.Git[0].IncludePaths)
	require.Equal(t, map[StageName][]string{Install: {"package.json"}, Setup: {"**/*"}}, im.Git[0].StageDependencies)
	require.Equal(t, Position{6, 3}, im.Git[0].Loc.Start)
	require.Equal(t, Position{10, 18}, im.Git[0].Loc.End)
	require.Equal(t, "v1.2.0", im.Git[1].Tag)
	require.Equal(t, "lib", im.Git[1].As)
	require.Equal(t, "2", im.Shell.CacheVersion)
	require.Equal(t, []string{"apt-get update"}, im.Shell.Stages[BeforeInstall].Commands)
	require.Equal(t, &StageCommands{Commands: []string{"npm ci", "npm prune"}, CacheVersion: "x",
		Loc: Range{Start: Position{18, 12}, End: Position{18, 29}}}, im.Shell.Stages[Install])
	require.NotContains(t, im.Shell.Stages, Setup)
}

func TestParseDimgNames(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		dimg: [a, b]
		from: alpine
		shell: {install: [make]}
		---
		artifact: build tools
		from: alpine
		`)
	require.Len(t, cfg.Images, 3)
	require.Equal(t, "a", cfg.Images[0].Name)
	require.Equal(t, "b", cfg.Images[1].Name)
	require.NotSame(t, cfg.Images[0].Shell, cfg.Images[1].Shell)
	require.Equal(t, cfg.Images[0].Shell, cfg.Images[1].Shell)
	require.Equal(t, KindArtifact, cfg.Images[2].Kind)
	require.Equal(t, "build tools", cfg.Images[2].Name)
	require.Equal(t, 5, cfg.Images[2].NameLoc.Start.Line)

	cfg = parse(t, "dimg: ~\nfrom: alpine\n")
	require.Equal(t, "", cfg.Images[0].Name)
}

func TestParseImportsAndMounts(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		dimg: app
		fromDimg: base
		import:
		- artifact: assets
		  add: /out
		  after: install
		  owner: app
		mount:
		- from: build_dir
		  to: /var/cache/apt
		- fromPath: /host
		  to: /data
		---
		dimg: base
		from: alpine
		---
		artifact: assets
		fromDimgArtifact: tools
		---
		artifact: tools
		from: alpine
		`)
	im := cfg.Images[0]
	require.Equal(t, "base", im.FromDimg)
	require.Equal(t, &Import{Loc: im.Imports[0].Loc, Artifact: "assets", Add: "/out", To: "/out",
		Point: ImportPoint{Stage: Install}, Owner: "app"}, im.Imports[0])
	require.Equal(t, []*Mount{
		{Loc: im.Mounts[0].Loc, From: MountBuildDir, To: "/var/cache/apt"},
		{Loc: im.Mounts[1].Loc, From: MountFromPath, FromPath: "/host", To: "/data"},
	}, im.Mounts)
	require.Equal(t, "tools", cfg.Images[2].FromDimgArtifact)
}

func TestParseDocker(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		dimg: app
		from: alpine
		docker:
		  ENV: {Z: 1, A: true, M: ~}
		  LABEL: {team: web}
		  EXPOSE: [80, 443/tcp]
		  VOLUME: /data
		  ENTRYPOINT: /start --fast
		  CMD: [--port, '80']
		  WORKDIR: /app
		  USER: app
		  STOPSIGNAL: SIGTERM
		  HEALTHCHECK: {test: curl -f localhost, interval: 5s, retries: 3}
		`)
	dk := cfg.Images[0].Docker
	require.Equal(t, []KeyValue{{"Z", "1"}, {"A", "true"}, {"M", ""}}, dk.Env)
	require.Equal(t, []KeyValue{{"team", "web"}}, dk.Label)
	require.Equal(t, []string{"80", "443/tcp"}, dk.Expose)
	require.Equal(t, []string{"/data"}, dk.Volume)
	require.Equal(t, &Command{Shell: "/start --fast", IsShell: true}, dk.Entrypoint)
	require.Equal(t, &Command{Exec: []string{"--port", "80"}}, dk.Cmd)
	require.Equal(t, "SIGTERM", dk.StopSignal)
	require.Equal(t, &Healthcheck{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: "5s", Retries: 3}, dk.Healthcheck)
}

func TestParseHealthcheckForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		want        *Healthcheck
	}{
		{"shell", `curl -f localhost`, &Healthcheck{Test: []string{"CMD-SHELL", "curl -f localhost"}}},
		{"none", `NONE`, &Healthcheck{Test: []string{"NONE"}}},
		{"dockerfile", `--interval=5s --retries=2 CMD curl x`,
			&Healthcheck{Test: []string{"CMD-SHELL", "curl x"}, Interval: "5s", Retries: 2}},
		{"dockerfile exec", `'--timeout=1s CMD ["curl", "x"]'`,
			&Healthcheck{Test: []string{"CMD", "curl", "x"}, Timeout: "1s"}},
		{"list", `{test: [curl, x], startPeriod: 1m}`, &Healthcheck{Test: []string{"CMD", "curl", "x"}, StartPeriod: "1m"}},
		{"explicit list", `{test: [CMD-SHELL, curl x]}`, &Healthcheck{Test: []string{"CMD-SHELL", "curl x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := parse(t, "dimg: a\nfrom: alpine\ndocker:\n  HEALTHCHECK: "+tc.value+"\n")
			require.Equal(t, tc.want, cfg.Images[0].Docker.Healthcheck)
		})
	}
}

func TestParseAliasWarnings(t *testing.T) {
	t.Parallel()
	src := dedent(`
		image: app
		fromImage: base
		import:
		- image: tools
		  add: /x
		  before: setup
		---
		image: base
		fromArtifact: tools
		---
		artifact: tools
		from: alpine
		`)
	cfg, warns, err := Parse([]byte(src), ParseOpt{})
	require.NoError(t, err)
	require.Equal(t, "base", cfg.Images[0].FromDimg)
	require.Equal(t, "tools", cfg.Images[0].Imports[0].Artifact)
	require.Equal(t, "tools", cfg.Images[1].FromDimgArtifact)
	var msgs []string
	for _, w := range warns {
		msgs = append(msgs, w.Range.String()+" "+w.Message)
	}
	require.Equal(t, []string{
		"1:1-1:5 `image` is werf's spelling of `dimg`: read as `dimg`",
		"2:1-2:9 `fromImage` is werf's spelling of `fromDimg`: read as `fromDimg`",
		"8:1-8:5 `image` is werf's spelling of `dimg`: read as `dimg`",
		"9:1-9:12 `fromArtifact` is werf's spelling of `fromDimgArtifact`: read as `fromDimgArtifact`",
	}, msgs)
}

func TestParseCollectsAllErrors(t *testing.T) {
	t.Parallel()
	_, _, err := parseAsDappfile([]byte("dimg: a\nfrom: alpine\nshel: 1\n---\ndimg: b\nbar: 2\n"), ParseOpt{})
	require.Error(t, err)
	require.Len(t, Locations(err), 3)
	require.True(t, IsLocationError(err))
	require.Equal(t, "Dappfile:3:1: unknown key \"shel\" (did you mean \"shell\"?)\n"+
		"Dappfile:5:1: dimg \"b\" has no base image: set one of `from`, `fromDimg` or `fromDimgArtifact`\n"+
		"Dappfile:6:1: unknown key \"bar\"", err.Error())
	var le *LocationError
	require.True(t, errors.As(err, &le))
}

func TestParseSkipsEmptyDocuments(t *testing.T) {
	t.Parallel()
	cfg := parse(t, "---\n# only a comment\n--- # separator comment\ndimg: a\nfrom: alpine\n---   \n\n---\n")
	require.Len(t, cfg.Images, 1)
	require.Equal(t, 4, cfg.Images[0].NameLoc.Start.Line)
}

func TestParseMergeKeysAndAliases(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		dimg: a
		from: alpine
		shell:
		  install: &cmds [make, make install]
		  setup: *cmds
		`)
	require.Equal(t, []string{"make", "make install"}, cfg.Images[0].Shell.Stages[Setup].Commands)
}

func TestRubyDSL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input string
		pos         string
	}{
		{"dimg_group", "# -*- mode: ruby -*-\n\ndimg_group do\n  artifact do\n  end\nend\n", "Dappfile:3:1: "},
		{"named dimg", "dimg 'app' do\n  docker.from 'alpine'\nend\n", "Dappfile:1:1: "},
		{"indented artifact with a comment", "\n  artifact do # builds the jar\n  end\n", "Dappfile:2:3: "},
		{"block arguments", "dimg \"app\" do |d|\nend\n", "Dappfile:1:1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseAsDappfile([]byte(tc.input), ParseOpt{})
			require.ErrorContains(t, err, tc.pos+"this Dappfile is written in dapp's Ruby DSL")
			require.ErrorContains(t, err, "only the YAML Dappfile format")
			require.ErrorContains(t, err, "Converting a Ruby DSL Dappfile")
			require.True(t, IsRubyDSL(err))
			require.True(t, IsLocationError(err))
		})
	}
	// YAML that merely mentions the words is not Ruby
	for _, yamlSrc := range []string{
		"dimg: do\nfrom: alpine\n",
		"dimg: app\nfrom: alpine\nshell:\n  install:\n  - for i in 1 2; do echo $i; done\n",
		"artifact: build # do\nfrom: alpine\n",
	} {
		_, _, err := Parse([]byte(yamlSrc), ParseOpt{})
		require.False(t, IsRubyDSL(err), yamlSrc)
	}
}

func TestUnsetBuildArgHint(t *testing.T) {
	t.Parallel()
	src := "dimg: app\nfrom: {{ env \"BASE\" }}\ndocker:\n  WORKDIR: {{ env \"DIR\" }}\n  USER: [{{ env \"U\" }}]\n"
	_, _, err := parseAsDappfile([]byte(src), ParseOpt{})
	require.EqualError(t, err, "Dappfile:2:6: `from` must not be empty (build arg BASE is not set, so env renders an empty string: "+
		"pass it with --build-arg BASE=… (buildctl: --opt build-arg:BASE=…))\n"+
		"Dappfile:5:9: `docker.USER` must be a string, got list (build arg U is not set, so env renders an empty string: "+
		"pass it with --build-arg U=… (buildctl: --opt build-arg:U=…))")

	// passed but empty: the plain message, no hint
	_, _, err = parseAsDappfile([]byte(src), ParseOpt{BuildArgs: map[string]string{"BASE": "", "U": "app"}})
	require.ErrorContains(t, err, "Dappfile:2:6: `from` must not be empty\n")
	require.NotContains(t, err.Error(), "build arg")

	_, _, err = Parse([]byte("dimg: app\nfrom: {{ expandenv \"${REG}/$IMG\" }}x:\n"), ParseOpt{})
	require.ErrorContains(t, err, "build args IMG, REG are not set")
	// through what the line prints: a variable or a data key assigned
	// earlier (dapp's `set .` idiom), followed back over assignments
	for _, tc := range []struct{ name, src, want string }{
		{"variable", "{{ $base := env \"BASE\" }}\ndimg: app\nfrom: {{ $base }}\n", "build arg BASE is not set"},
		{"data key", "{{ $_ := set . \"Base\" (env \"BASE\") }}\ndimg: app\nfrom: {{ .Base }}\n", "build arg BASE is not set"},
		{"two hops", "{{ $reg := env \"REG\" }}\n{{ $img := printf \"%s%s\" $reg (env \"IMG\") }}\ndimg: app\nfrom: {{ $img }}\n", "build args IMG, REG are not set"},
	} {
		_, _, err := Parse([]byte(tc.src), ParseOpt{})
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	// an unset arg read for another variable is not named
	_, _, err = Parse([]byte("{{ $tag := env \"TAG\" }}{{ $base := \"\" }}\ndimg: app\nfrom: {{ $base }}\n"), ParseOpt{})
	require.ErrorContains(t, err, "`from` must not be empty")
	require.NotContains(t, err.Error(), "TAG")
	// the nearest assignment above the line is the one printed
	_, _, err = Parse([]byte("{{ $b := env \"OLD\" }}\n{{ $b = \"\" }}\ndimg: app\nfrom: {{ $b }}\n"), ParseOpt{})
	require.ErrorContains(t, err, "`from` must not be empty")
	require.NotContains(t, err.Error(), "OLD")
}
