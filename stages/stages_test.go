package stages

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

func ids(chain []Stage) []string {
	var out []string
	for _, s := range chain {
		id := string(s.ID)
		if s.ID == GitPatch {
			id += ":" + string(s.User)
		}
		out = append(out, id)
	}
	return out
}

func parse(t *testing.T, doc string) *dappfile.Image {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(doc), dappfile.ParseOpt{})
	require.NoError(t, err)
	return cfg.Images[len(cfg.Images)-1]
}

func TestAnsibleStage(t *testing.T) {
	t.Parallel()
	img := parse(t, "dimg: a\nfrom: alpine\nansible:\n  cacheVersion: v1\n  installCacheVersion: v2\n  install:\n  - name: curl\n    apk: name=curl\n  - shell: make\n")
	chain := Chain(img)
	require.Len(t, chain, 2)
	st := chain[1]
	require.Equal(t, Install, st.ID)
	require.Equal(t, KindUser, st.Kind)
	require.Empty(t, st.Commands)
	require.Len(t, st.Tasks, 2)
	require.Equal(t, "curl", st.Tasks[0].Label())
	require.Equal(t, []string{"v1", "v2"}, st.CacheVersions)
	require.Equal(t, 7, st.Ranges[0].Start.Line)
}

func TestChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "bare image",
			doc:  "dimg: a\nfrom: alpine\n",
			want: []string{"from"},
		},
		{
			name: "git mapping with dependencies, stage without commands",
			doc: `dimg: a
from: alpine
git:
- to: /app
  stageDependencies:
    install: [package.json]
    setup: ['**/*']
shell:
  install: [npm ci]
docker: {CMD: [run]}
`,
			want: []string{"from", "gitArchive", "gitPatch:install", "install", "gitPatch:setup", "gitCache", "gitLatestPatch", "dockerInstructions"},
		},
		{
			name: "remote dependencies make no patch point",
			doc:  "dimg: a\nfrom: alpine\ngit:\n- url: https://example.com/r.git\n  to: /r\n  stageDependencies:\n    install: [x]\n",
			want: []string{"from", "gitArchive", "gitCache", "gitLatestPatch"},
		},
		{
			name: "artifact: patch before buildArtifact, no tail",
			doc: `dimg: a
from: alpine
---
artifact: b
from: alpine
git:
- to: /src
  stageDependencies:
    buildArtifact: ['**/*.go']
shell:
  buildArtifact: [go build]
`,
			want: []string{"from", "gitArchive", "gitPatch:buildArtifact", "buildArtifact"},
		},
		{
			name: "mount points after the last stage that runs commands, before the config",
			doc:  "dimg: a\nfrom: alpine\ngit:\n- to: /app\nmount:\n- from: tmp_dir\n  to: /tmp/x\nshell:\n  setup: [make]\ndocker: {CMD: [run]}\n",
			want: []string{"from", "gitArchive", "setup", "gitCache", "gitLatestPatch", "mountPoints", "dockerInstructions"},
		},
		{
			name: "artifact: mount points last",
			doc:  "dimg: a\nfrom: alpine\n---\nartifact: b\nfrom: alpine\nmount:\n- from: build_dir\n  to: /cache\nshell:\n  buildArtifact: [make]\n",
			want: []string{"from", "buildArtifact", "mountPoints"},
		},
		{
			name: "ansible stages sit where shell stages do",
			doc: `artifact: b
from: alpine
ansible:
  buildArtifact: [{copy: {content: x, dest: /out}}]
---
dimg: a
from: alpine
git:
- to: /app
  stageDependencies:
    setup: ['**/*']
ansible:
  beforeInstall: [{apk: name=curl}]
  setup: [{shell: make}]
import:
- artifact: b
  add: /out
  after: install
`,
			want: []string{"from", "beforeInstall", "gitArchive", "importsAfterInstall", "gitPatch:setup", "setup", "gitCache", "gitLatestPatch"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, ids(Chain(parse(t, tc.doc))))
		})
	}
}

// TestWerfChain: werf's disableGitAfterPatch drops gitCache and
// gitLatestPatch; image-level and meta cacheVersions salt the from stage
// before fromCacheVersion.
func TestWerfChain(t *testing.T) {
	t.Parallel()
	img := parse(t, "project: p\nconfigVersion: 1\nbuild: {cacheVersion: m}\n---\nimage: a\nfrom: alpine\n"+
		"cacheVersion: i\nfromCacheVersion: f\ndisableGitAfterPatch: true\ngit:\n- add: /\n  to: /app\n")
	chain := Chain(img)
	require.Equal(t, []string{"from", "gitArchive"}, ids(chain))
	require.Equal(t, []string{"m", "i", "f"}, chain[0].CacheVersions)
}

func TestGitPatchTargets(t *testing.T) {
	t.Parallel()
	require.Equal(t, []dappfile.StageName{dappfile.Install, dappfile.BeforeSetup, dappfile.Setup}, GitPatchTargets(dappfile.KindImage))
	require.Equal(t, []dappfile.StageName{dappfile.Install, dappfile.BeforeSetup, dappfile.Setup, dappfile.BuildArtifact}, GitPatchTargets(dappfile.KindArtifact))
}

func TestBeforeGitArchive(t *testing.T) {
	t.Parallel()
	require.True(t, BeforeGitArchive(dappfile.BeforeInstall))
	for _, s := range []dappfile.StageName{dappfile.Install, dappfile.BeforeSetup, dappfile.Setup, dappfile.BuildArtifact} {
		require.False(t, BeforeGitArchive(s), s)
	}
}

func TestFollows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		st   Stage
		user dappfile.StageName
		want bool
	}{
		{Stage{ID: From}, dappfile.BeforeInstall, false},
		{Stage{ID: ImportsBeforeInstall}, dappfile.BeforeInstall, true},
		{Stage{ID: GitPatch, User: dappfile.Install}, dappfile.Install, false},
		{Stage{ID: GitPatch, User: dappfile.BeforeSetup}, dappfile.Install, true},
		{Stage{ID: ImportsAfterInstall}, dappfile.Install, true},
		{Stage{ID: ImportsBeforeSetup}, dappfile.Setup, false},
		{Stage{ID: GitCache}, dappfile.Setup, true},
		{Stage{ID: MountPoints}, dappfile.Setup, true},
		{Stage{ID: DockerInstructions}, dappfile.Setup, true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Follows(tc.st, tc.user), "%s:%s after %s", tc.st.ID, tc.st.User, tc.user)
	}
}
