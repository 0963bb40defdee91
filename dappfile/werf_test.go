package dappfile

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWerfRefusals: every werf key that is not supported is refused by
// name, at its line, with what to do instead.
func TestWerfRefusals(t *testing.T) {
	t.Parallel()
	const meta = "project: p\nconfigVersion: 1\n---\n"
	for _, tc := range []struct {
		name, src, err string
	}{
		{"stapel platform", "image: a\nfrom: x\nplatform: [linux/arm64]\n",
			"werf.yaml:3:1: `platform` is not supported in the file: remove it and pass the platforms to the build (buildx: --platform linux/amd64,linux/arm64; buildctl: --opt platform=...)"},
		{"stapel dependencies", "image: a\nfrom: x\ndependencies: []\n",
			"werf.yaml:3:1: `dependencies` is not supported: werf passes another image's registry name, tag or digest, which one BuildKit build does not have; build on another image with `fromImage` or copy its files with `import`"},
		{"stapel imageSpec clearHistory", "image: a\nfrom: x\nimageSpec: {clearHistory: true}\n",
			"werf.yaml:3:13: `imageSpec.clearHistory` is not supported: BuildKit writes the history of the layers it exports"},
		{"stapel imageSpec healthcheck", "image: a\nfrom: x\nimageSpec:\n  config:\n    healthcheck: {}\n",
			"werf.yaml:5:5: `imageSpec.config.healthcheck` is not supported: use `docker:` with HEALTHCHECK instead of `imageSpec`"},
		{"imageSpec with docker", "image: a\nfrom: x\ndocker: {USER: a}\nimageSpec: {author: me}\n",
			"werf.yaml:4:1: `docker` and `imageSpec` cannot be used together (as in werf): keep one"},
		{"imageSpec in artifact", "artifact: a\nfrom: x\nimageSpec: {author: me}\n---\nimage: b\nfrom: x\n",
			"werf.yaml:3:1: `imageSpec` is not allowed in an artifact"},
		{"imageSpec relative workingDir", "image: a\nfrom: x\nimageSpec: {config: {workingDir: app}}\n",
			"werf.yaml:3:34: `imageSpec.config.workingDir` must be an absolute path, got \"app\": Docker resolves it against the base image's working directory (\"/app\" when that is /); write that path"},
		{"imageSpec bad expose", "image: a\nfrom: x\nimageSpec: {config: {expose: [\"80/xyz\"]}}\n",
			"werf.yaml:3:31: `imageSpec.config.expose[0]` must be a port (1-65535) or a range (8000-8010), optionally followed by /tcp, /udp or /sctp, got \"80/xyz\": unknown protocol \"xyz\""},
		{"imageSpec empty volume", "image: a\nfrom: x\nimageSpec: {config: {volumes: [\"\"]}}\n",
			"werf.yaml:3:32: `imageSpec.config.volumes[0]` must not hold an empty path"},
		{"imageSpec bad regexp", "image: a\nfrom: x\nimageSpec: {config: {removeLabels: [\"/(/\"]}}\n",
			"werf.yaml:3:37: `imageSpec.config.removeLabels[0]` is not a valid /regexp/"},
		{"stapel secret value", "image: a\nfrom: x\nsecrets:\n- id: t\n  value: s3cr3t\n",
			"werf.yaml:5:10: `secrets[0].value` is refused: a value written in the file is no secret"},
		{"dockerfile key in stapel", "image: a\nfrom: x\ntarget: prod\n",
			"werf.yaml:3:1: `target` belongs to a `dockerfile:` image: add `dockerfile: PATH` to build this image from a Dockerfile, or remove it"},
		{"dockerfile platform", "image: a\ndockerfile: Dockerfile\nplatform: [linux/arm64]\n",
			"werf.yaml:3:1: `platform` is not supported in the file"},
		{"dockerfile cacheVersion", "image: a\ndockerfile: Dockerfile\ncacheVersion: 2\n",
			"werf.yaml:3:1: `cacheVersion` is not supported for `dockerfile:` images: BuildKit keys the Dockerfile's steps by their content; rebuild them with --no-cache-filter NAME, or change the Dockerfile"},
		{"dockerfile imageSpec", "image: a\ndockerfile: Dockerfile\nimageSpec: {}\n",
			"werf.yaml:3:1: `imageSpec` is not supported: set the image config in the Dockerfile"},
		{"dockerfile dependencies", "image: a\ndockerfile: Dockerfile\ndependencies: []\n",
			"werf.yaml:3:1: `dependencies` is not supported"},
		{"stapel key in dockerfile image", "image: a\ndockerfile: Dockerfile\nshell: {install: [x]}\n",
			"werf.yaml:3:1: `shell` is a stapel key: a `dockerfile:` image is built by its Dockerfile alone"},
		{"dockerfile secret value", "image: a\ndockerfile: Dockerfile\nsecrets:\n- id: t\n  value: s3cr3t\n",
			"werf.yaml:5:10: `secrets[0].value` is refused: a value written in the file is no secret"},
		{"dockerfile nameless", "image: ~\ndockerfile: Dockerfile\n",
			"werf.yaml:1:8: a `dockerfile:` image needs a name (`image: NAME`)"},
		{"dockerfile outside context", "image: a\ndockerfile: ../Dockerfile\n",
			"werf.yaml:2:13: `dockerfile` must stay inside the build context, got \"../Dockerfile\""},
		{"context absolute", "image: a\ndockerfile: Dockerfile\ncontext: /src\n",
			"werf.yaml:3:10: `context` must be a path relative to the build context, got absolute path \"/src\""},
		{"network", "image: a\ndockerfile: Dockerfile\nnetwork: hots\n",
			"werf.yaml:3:10: `network` must be one of default, none, host, got \"hots\" (did you mean \"host\"?)"},
		{"addHost", "image: a\ndockerfile: Dockerfile\naddHost: [db]\n",
			"werf.yaml:3:11: `addHost[0]` must be HOST:IP, got \"db\""},
		{"meta build platform", "project: p\nconfigVersion: 1\nbuild:\n  platform: [linux/arm64]\n---\nimage: a\nfrom: x\n",
			"werf.yaml:4:3: `platform` is not supported in the file"},
		{"meta build imageSpec clearHistory", "project: p\nconfigVersion: 1\nbuild:\n  imageSpec: {clearHistory: true}\n---\nimage: a\nfrom: x\n",
			"werf.yaml:4:15: `build.imageSpec.clearHistory` is not supported: BuildKit writes the history of the layers it exports"},
		{"meta build imageSpec env", "project: p\nconfigVersion: 1\nbuild:\n  imageSpec: {config: {env: {A: b}}}\n---\nimage: a\nfrom: x\n",
			"werf.yaml:4:24: unknown key \"env\" in `build.imageSpec.config`"},
		{"meta build sbom", "project: p\nconfigVersion: 1\nbuild:\n  sbom: {enable: true}\n---\nimage: a\nfrom: x\n",
			"werf.yaml:4:3: `build.sbom` is not supported in the file: ask BuildKit for an SBOM attestation instead (buildx: --sbom=true; buildctl: --opt attest:sbom=)"},
		{"meta config version", "project: p\nconfigVersion: 2\n---\nimage: a\nfrom: x\n",
			"werf.yaml:2:16: `configVersion` must be 1, the only version of werf's configuration, got \"2\""},
		{"meta bad project", "project: My_Shop\nconfigVersion: 1\n---\nimage: a\nfrom: x\n",
			"werf.yaml:1:10: `project` must be a werf project name (lowercase letters, digits and single dashes, at most 50 characters), got \"My_Shop\""},
		{"meta without version", "project: p\n---\nimage: a\nfrom: x\n",
			"werf.yaml:1:1: werf's meta document needs `configVersion: 1`"},
		{"meta without project", "configVersion: 1\n---\nimage: a\nfrom: x\n",
			"werf.yaml:1:1: werf's meta document needs `project: NAME`"},
		{"meta twice", meta + "project: q\nconfigVersion: 1\n---\nimage: a\nfrom: x\n",
			"werf.yaml:4:1: a second meta document (the first is at line 1)"},
		{"meta unknown key", "project: p\nconfigVersion: 1\nprojct: x\n---\nimage: a\nfrom: x\n",
			"werf.yaml:3:1: unknown key \"projct\" (did you mean \"project\"?)"},
		{"no name key in werf.yaml", meta + "from: alpine\n",
			"werf.yaml:4:1: a document needs `image: <name>` (with `dockerfile:` for a Dockerfile image), or `configVersion` and `project` for the meta document"},
		{"meta only", meta, "werf.yaml: no image: a werf.yaml needs at least one `image` document"},
		{"final in artifact", "artifact: a\nfrom: x\nfinal: false\n---\nimage: b\nfrom: x\n",
			"werf.yaml:3:1: `final` is not allowed in an artifact"},
		{"import stage", meta + "image: a\nfrom: x\n---\nimage: b\nfrom: x\nimport:\n- image: a\n  stage: instal\n  add: /x\n  after: install\n",
			"werf.yaml:11:10: `import[0].stage` must be one of beforeInstall, install, beforeSetup, setup, got \"instal\" (did you mean \"install\"?)"},
		{"import stage of dockerfile image", meta + "image: a\ndockerfile: Dockerfile\n---\nimage: b\nfrom: x\nimport:\n- image: a\n  stage: setup\n  add: /x\n  after: install\n",
			"werf.yaml:10:10: `import[0].image` names \"a\", a `dockerfile:` image: it has no stage \"setup\" to import from; drop `stage` to import its final files"},
		{"import unknown image", meta + "image: a\nfrom: x\nimport:\n- image: b\n  add: /x\n  after: install\n",
			"werf.yaml:7:10: `import[0].image` names unknown image or artifact \"b\""},
		{"import cycle through images", meta + "image: a\nfrom: x\nimport:\n- image: b\n  add: /x\n  after: install\n---\nimage: b\nfrom: x\nimport:\n- image: a\n  add: /x\n  after: install\n",
			"dependency cycle through `import[0]`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.src), ParseOpt{Werf: true})
			err = WithFilename(err, "werf.yaml")
			require.ErrorContains(t, err, tc.err)
			require.NotContains(t, err.Error(), "unknown key \""+strings.TrimSpace(strings.SplitN(tc.name, " ", 2)[0])+"\"")
		})
	}
}

// TestWerfSpellingsNoWarning: in a werf.yaml, werf's own spellings are
// not "aliases" and earn no warning; in a Dappfile they still do.
func TestWerfSpellingsNoWarning(t *testing.T) {
	t.Parallel()
	src := "image: a\nfrom: x\n---\nimage: b\nfromImage: a\n"
	_, warns, err := Parse([]byte(src), ParseOpt{Werf: true})
	require.NoError(t, err)
	require.Empty(t, warns)
	_, warns, err = Parse([]byte(src), ParseOpt{})
	require.NoError(t, err)
	require.Len(t, warns, 3)
	_, warns, err = Parse([]byte("project: p\nconfigVersion: 1\n---\n"+src), ParseOpt{})
	require.NoError(t, err)
	require.Empty(t, warns)
}

// TestWerfDockerfileWarnings: what the client passes (ssh, secrets) is
// named with the flag to pass it.
func TestWerfDockerfileWarnings(t *testing.T) {
	t.Parallel()
	src := "image: a\ndockerfile: Dockerfile\nssh: default\nsecrets:\n- id: npmrc\n  src: ~/.npmrc\n- env: TOKEN\n"
	_, warns, err := Parse([]byte(src), ParseOpt{Werf: true})
	require.NoError(t, err)
	var got []string
	for _, w := range warns {
		got = append(got, w.Range.String()+" "+w.Message)
	}
	require.Equal(t, []string{
		"3:1-3:3 `ssh` is given by the client, not the file: build with --ssh default (buildx and buildctl); the Dockerfile's RUN --mount=type=ssh uses it",
		"5:3-6:15 `secrets[0]` is passed by the client: build with --secret id=npmrc,src=~/.npmrc",
		"7:3-7:12 `secrets[1]` is passed by the client: build with --secret id=TOKEN,env=TOKEN",
	}, got)
}

// TestWerfTemplate: werf's template data and functions.
func TestWerfTemplate(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	opt := ParseOpt{
		Werf:      true,
		BuildArgs: map[string]string{"WERF_ENV": "production", "SET": "v"},
		Templates: map[string][]byte{"base.tmpl": []byte(`{{ define "base" }}from: {{ .from }}{{ end }}`)},
		ReadFile: func(p string) ([]byte, error) {
			if p == "VERSION" {
				return []byte("1.2"), nil
			}
			return nil, fs.ErrNotExist
		},
		Commit: func() (Commit, error) { return Commit{Hash: "abc123", Time: when}, nil },
	}
	src := dedent(`
		project: p
		configVersion: 1
		---
		image: app
		{{ include "base" (fromYaml "from: alpine") }}
		fromCacheVersion: {{ .Env }}-{{ .Commit.Hash }}-{{ .Commit.Date.Unix }}
		shell:
		  install:
		  - echo {{ env "UNSET" "fallback" }} {{ env "SET" "fallback" }}
		  - echo {{ tpl "{{ .x }}" (dict "x" "from-tpl") }}{{ printf_debug "x" }}
		  - echo {{ .Files.Exists "VERSION" }} {{ .Files.Exists "NOPE" }} {{ required "needs SET" (env "SET") }}
		`)
	cfg, _, err := Parse([]byte(src), opt)
	require.NoError(t, err)
	im := cfg.Images[0]
	require.Equal(t, "alpine", im.From)
	require.Equal(t, fmt.Sprintf("production-abc123-%d", when.Unix()), im.FromCacheVersion)
	require.Equal(t, []string{"echo fallback v", "echo from-tpl", "echo true false v"}, im.Shell.Stages[Install].Commands)

	for _, tc := range []struct{ name, src, err string }{
		{"required", "image: a\nfrom: {{ required \"set BASE: --build-arg BASE=...\" (env \"BASE\") }}\n",
			"werf.yaml:2:10: template: executing \"werf.yaml\" at <required \"set BASE: --build-arg BASE=...\" (env \"BASE\")>: error calling required: set BASE: --build-arg BASE=..."},
		{"glob", "image: a\nfrom: x\n{{ .Files.Glob \"*.txt\" }}\n", ".Files.Glob \"*.txt\" is not supported: read each file with .Files.Get \"PATH\""},
		{"commit without repository", "image: a\nfrom: x{{ .Commit.Hash }}\n", ".Commit needs the build context's git repository, and there is none"},
		{"env with two defaults", "image: a\nfrom: {{ env \"A\" \"b\" \"c\" }}\n", "env \"A\": at most one default value, got 2"},
	} {
		_, _, err := Parse([]byte(tc.src), ParseOpt{Werf: true})
		require.ErrorContains(t, WithFilename(err, "werf.yaml"), tc.err, tc.name)
	}
}

// TestWerfWrongTypes: values of the wrong YAML type in werf's sections are
// located errors, never a panic.
func TestWerfWrongTypes(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"image: [a, b]\ndockerfile: [x]\n",
		"image: a\ndockerfile: ~\n",
		"image: a\ndockerfile: D\nsecrets: x\n",
		"image: a\ndockerfile: D\nsecrets: [x, {env: 1x}]\n",
		"image: a\ndockerfile: D\nargs: [x]\naddHost: {a: b}\nnetwork: [x]\ncontext: {a: 1}\ncontextAddFiles: [../x]\n",
		"image: {a: 1}\ndockerfile: D\n",
		"configVersion: [1]\nproject: {a: 1}\nbuild: x\ndeploy: [x]\n---\nimage: a\nfrom: x\n",
		"project: p\nconfigVersion: 1\nbuild: {cacheVersion: [x], staged: maybe}\n---\nimage: a\nfrom: x\n",
		"image: a\nfrom: x\nfinal: maybe\ncacheVersion: {a: 1}\ndisableGitAfterPatch: [x]\nfromLatest: 2\n",
		"image: a\nfrom: x\n---\nimage: b\nfrom: x\nimport: [{image: a, stage: [x], add: /x, after: install}, {from: ~, add: /y, after: setup}]\n",
		"image: a\nfrom: x\ngit: [{add: /, to: /app, herebyIAdmitThatBranchMightBreakReproducibility: yes-please}]\ndocker: {exactValues: sometimes}\n",
	} {
		_, _, err := Parse([]byte(src), ParseOpt{Werf: true})
		require.Error(t, err, src)
		require.Equal(t, len(splitLines(err.Error())), len(Locations(err)), "every error has a location: %s", err)
	}
}
