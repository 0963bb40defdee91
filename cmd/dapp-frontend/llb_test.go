package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/stretchr/testify/require"
)

func TestDumpLLB(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, dumpLLB([]string{"--context", "../../examples/multi-image", "--target", "api"}, &out, io.Discard))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var op struct {
			Op         map[string]any
			Digest     string
			OpMetadata struct {
				Description map[string]string `json:"description"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(line), &op), line)
		require.True(t, strings.HasPrefix(op.Digest, "sha256:"))
		if n := op.OpMetadata.Description["llb.customname"]; n != "" {
			names = append(names, n)
		}
	}
	require.Equal(t, []string{
		"from docker.io/library/busybox:latest",
		"[dapp] toolchain docker.io/flant/dapp-frontend-toolchain:bookworm-1-shell",
		`[base] beforeInstall: mkdir -p /opt/base && echo "shared base" > /opt/base/README`,
		"[api] install: echo api > /opt/base/api.txt",
	}, names)
}

func TestDumpLLBErrors(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := dumpLLB([]string{"--context", "../../examples/multi-image"}, &out, io.Discard)
	require.ErrorContains(t, err, "pick one with --target NAME")
	err = dumpLLB([]string{"--context", t.TempDir()}, &out, io.Discard)
	require.ErrorContains(t, err, "no Dappfile or werf.yaml found: looked for Dappfile, dappfile.yaml, dappfile.yml, werf.yaml, werf.yml in ")
}

// TestDumpLLBReadsOnlyTheContext: the debug command reads what the
// frontend reads through BuildKit, never host files (issue 11's
// reproducers: .Files.Get of an absolute or ../ path, a symlink out of the
// context, a .git symlink).
func TestDumpLLBReadsOnlyTheContext(t *testing.T) {
	t.Parallel()
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("TOPSECRET"), 0o644))
	r := gittest.New(t)
	r.Commit("init")
	repo := r.Dir
	const gitDappfile = "dimg: a\nfrom: alpine\ngit:\n- add: /\n  to: /app\n"
	for _, tc := range []struct {
		name     string
		dappfile string
		files    map[string]string // "->" makes a symlink
		err      string
	}{
		{name: "absolute path", dappfile: "dimg: a\nfrom: alpine\nfromCacheVersion: x{{ .Files.Get \"" + secret + "\" }}\n", err: "an absolute path"},
		{name: "dot dot", dappfile: "dimg: a\nfrom: alpine\nfromCacheVersion: x{{ .Files.Get \"../../../../../../../../.." + secret + "\" }}\n", err: "leads outside the build context"},
		{name: "symlink out", dappfile: "dimg: a\nfrom: alpine\nfromCacheVersion: x{{ .Files.Get \"link\" }}\n", files: map[string]string{"link": "->" + secret}},
		{name: "template symlink out", dappfile: "dimg: a\nfrom: alpine\nfromCacheVersion: x{{ include \"s.tmpl\" . }}\n", files: map[string]string{".dappfiles/s.tmpl": "->" + secret}, err: `no template "s.tmpl"`},
		{name: "git symlink", dappfile: gitDappfile, files: map[string]string{".git": "->" + filepath.Join(repo, ".git")}, err: "the build context is not a git repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Dappfile"), []byte(tc.dappfile), 0o644))
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.Symlink(strings.TrimPrefix(content, "->"), p))
			}
			var out bytes.Buffer
			err := dumpLLB([]string{"--context", dir}, &out, io.Discard)
			require.NotContains(t, out.String(), "TOPSECRET")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
		})
	}
	// Control: the repository itself as the context converts.
	require.NoError(t, os.WriteFile(filepath.Join(repo, "Dappfile"), []byte(gitDappfile), 0o644))
	var out bytes.Buffer
	require.NoError(t, dumpLLB([]string{"--context", repo}, &out, io.Discard))
}

// TestDumpLLBWarnings checks that the debug command prints the warnings of
// the conversion too (git mappings, submodules), not only the Dappfile's.
func TestDumpLLBWarnings(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("Dappfile", "dimg: app\nfrom: busybox\ngit:\n- add: /\n  to: /app\n  stageDependencies:\n    install: [nope.txt]\n"+
		"shell:\n  install: [\"true\"]\n")
	r.Write("main.go", "package main\n")
	r.Write(".gitmodules", "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.invalid/lib.git\n")
	r.Git("add", "-A")
	// a submodule that was never initialised: the README promises a warning
	r.Git("update-index", "--add", "--cacheinfo", "160000,1111111111111111111111111111111111111111,lib")
	r.Git("commit", "-q", "-m", "init") // not Commit: its `add -A` would drop the gitlink
	var out, warns bytes.Buffer
	require.NoError(t, dumpLLB([]string{"--context", r.Dir}, &out, &warns))
	require.Contains(t, warns.String(), "warning: Dappfile:4: stageDependencies.install: \"nope.txt\" matches no file of the mapping\n")
	require.Regexp(t, "warning: Dappfile:4: submodule \"lib\" .*git submodule update --init", warns.String())
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// TestDumpLLBWerf: the debug command finds werf.yaml, reads `.werf`
// templates and converts a `dockerfile:` image from its context folder.
func TestDumpLLBWerf(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"app", "web", "tools"} {
		var out bytes.Buffer
		require.NoError(t, dumpLLB([]string{"--context", "../../examples/werf", "--target", target}, &out, io.Discard), target)
		require.NotZero(t, out.Len())
		if target == "web" {
			require.Contains(t, out.String(), "GREETING=hello from werf.yaml")
		}
	}
}

func TestDumpLLBRubyDappfileBesideYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dappfile":     "dimg_group do\n  dimg 'app' do\n    docker.from 'alpine'\n  end\nend\n",
		"dappfile.yml": "dimg: app\nfrom: alpine\n",
	})
	var out bytes.Buffer
	require.NoError(t, dumpLLB([]string{"--context", dir}, &out, io.Discard))
	require.Contains(t, out.String(), "docker.io/library/alpine:latest")
	err := dumpLLB([]string{"--context", dir, "-f", filepath.Join(dir, "Dappfile")}, &out, io.Discard)
	require.ErrorContains(t, err, "written in dapp's Ruby DSL")
}

// TestParseLocalWerfCommit: werf's `.Commit` reads HEAD of the context's
// repository.
func TestParseLocalWerfCommit(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("werf.yaml", "image: a\nfrom: alpine\nfromCacheVersion: {{ .Commit.Hash }}-{{ .Commit.Date.Unix }}\n")
	when := r.Clock
	h := r.Commit("one")
	cfg, err := parseLocal("", r.Dir, nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%s-%d", h, when.Unix()), cfg.Images[0].FromCacheVersion)
}

// TestDumpLLBPatternBound: a glob over the bound is refused at the git
// mapping's line.
func TestDumpLLBPatternBound(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("**/a/", 20)
	r := gittest.New(t)
	r.Write("Dappfile", "dimg: a\nfrom: alpine\ngit:\n- add: /\n  to: /app\n  includePaths: ['"+long+"']\n")
	r.Write("a", "a\n")
	r.Commit("init")
	err := dumpLLB([]string{"--context", r.Dir}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "Dappfile:4:3: includePaths: pattern \"**/a/")
	require.ErrorContains(t, err, "has 20 `**` elements; at most 16 are allowed")
}
