package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

// realworldWant is what each build file of shared/corpus/realworld gives
// today, one line per file: "" means every image and artifact converts;
// otherwise the unsupported reasons (keys of unsupportedReasons, joined
// with ",") it is refused for, and nothing else. Flip a line when the
// feature lands.
var realworldWant = map[string]string{
	"atsea-sample-shop-app/Dappfile":     "ruby-dsl",
	"atsea-sample-shop-app/dappfile.yml": "",
	"dapptest/dappfile.yml":              "",
	"iondv-studio/dappfile.yml":          "",
	"market-radar-ui/dappfile.yaml":      "",
	"werf-example-repo/werf.yaml":        "",
	"werf-netflow/werf.yaml":             "project-subdir",
}

// realworldArgs are the build args a case's CI passed. A case not listed
// (the held-back set) gets a placeholder for every build arg an error says
// is not set, as a user would after reading the message.
var realworldArgs = map[string]map[string]string{
	"iondv-studio/dappfile.yml": {"BUILD_IMAGE": "node:10-alpine"},
}

// unsupportedReasons are the only reasons a real build file may be refused
// for: each is listed in the README's "What is not supported" section
// under its key (the test checks), and an error line is of that reason
// when it matches the pattern.
var unsupportedReasons = []struct {
	key     string
	pattern *regexp.Regexp
}{
	{"ruby-dsl", regexp.MustCompile(`: this Dappfile is written in dapp's Ruby DSL`)},
	{"ruby-dump", regexp.MustCompile(`: "--- !ruby/object:[^"]*": ruby tag`)},
	{"chef", regexp.MustCompile(": `chef` is not supported")},
	{"werf-key", regexp.MustCompile(": `[^`]+` is not supported")},
	// only for a build file that its repository keeps in a subdirectory
	// (see subdirBuildFile): werf resolves `add` against that directory
	{"project-subdir", regexp.MustCompile(`: git mapping add "[^"]*" does not exist at commit`)},
}

// realworldDir finds shared/corpus/realworld beside the repository, or the
// directory DAPP_REALWORLD_CORPUS names (another set of cases laid out the
// same way, with its own mkrepo.sh). Without it the test skips, except in
// CI, where a missing corpus must not pass for a green run.
func realworldDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus", "realworld"))
	require.NoError(t, err)
	if d := os.Getenv("DAPP_REALWORLD_CORPUS"); d != "" {
		dir = d
	}
	if fi, err := os.Stat(filepath.Join(dir, "mkrepo.sh")); err != nil || fi.IsDir() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the real-world corpus is missing at %s (shared/ must sit beside the repository): %v", dir, err)
		}
		t.Skipf("the real-world corpus is not at %s", dir)
	}
	return dir
}

// TestRealWorldCorpus recreates each real repository of the corpus as a
// git work tree (mkrepo.sh) and converts every build file offline, like
// `dapp-frontend llb`, for every image and artifact: each converts, or is
// refused only for reasons the README lists as unsupported.
func TestRealWorldCorpus(t *testing.T) {
	t.Parallel()
	corpus := realworldDir(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	section := readmeSection(string(readme), "## What is not supported")
	for _, r := range unsupportedReasons {
		require.Contains(t, section, "("+r.key+")", "the README's \"What is not supported\" names each reason the corpus test accepts")
	}

	cases, err := os.ReadDir(corpus)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		caseDir := filepath.Join(corpus, c.Name())
		files, err := os.ReadDir(filepath.Join(caseDir, "files"))
		require.NoError(t, err)
		var buildFiles []string
		for _, f := range files {
			if !f.IsDir() && isBuildFile(f.Name()) {
				buildFiles = append(buildFiles, f.Name())
			}
		}
		require.NotEmpty(t, buildFiles, "case %s has no build file", c.Name())
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			repo := filepath.Join(t.TempDir(), "repo")
			cmd := exec.Command("bash", filepath.Join(corpus, "mkrepo.sh"), caseDir, repo)
			cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "mkrepo.sh: %s", out)
			stubPlaceholderDockerfiles(t, repo)
			for _, f := range buildFiles {
				name := c.Name() + "/" + f
				got := convertRealWorld(t, repo, f, realworldArgs[name], subdirBuildFile(t, caseDir, f))
				want, known := realworldWant[name]
				if !known {
					// a case of the held-back set: any listed reason will do
					require.NotContains(t, got, "?", "%s: refused for a reason the README does not list:\n%s", name, got)
					continue
				}
				require.Equal(t, want, got, "%s", name)
			}
		})
		for _, f := range buildFiles {
			seen[c.Name()+"/"+f] = true
		}
	}
	if os.Getenv("DAPP_REALWORLD_CORPUS") == "" {
		for name := range realworldWant {
			require.True(t, seen[name], "%s is in realworldWant but not in the corpus", name)
		}
	}
}

// subdirBuildFile reports whether the case's repository kept the build
// file in a subdirectory (tree.txt lists it below the root but not at the
// root): mkrepo.sh copies it to the root, where git paths written relative
// to its own directory (werf's project directory) do not resolve.
func subdirBuildFile(t *testing.T, caseDir, file string) bool {
	t.Helper()
	tree, err := os.ReadFile(filepath.Join(caseDir, "tree.txt"))
	require.NoError(t, err)
	atRoot, below := false, false
	for _, p := range strings.Split(string(tree), "\n") {
		switch {
		case p == file:
			atRoot = true
		case strings.HasSuffix(p, "/"+file):
			below = true
		}
	}
	return below && !atRoot
}

func isBuildFile(name string) bool {
	switch strings.ToLower(name) {
	case "dappfile", "dappfile.yaml", "dappfile.yml", "werf.yaml", "werf.yml":
		return true
	}
	return false
}

// convertRealWorld converts every target of one build file and returns the
// sorted reasons it was refused for ("" when everything converts). An
// error line of no listed reason comes back as "?: " and the line.
func convertRealWorld(t *testing.T, repo, file string, args map[string]string, inSubdir bool) string {
	t.Helper()
	args = fillUnsetBuildArgs(t, repo, file, args)
	reasons := map[string]bool{}
	refuse := func(err error) {
		for _, line := range strings.Split(err.Error(), "\n") {
			if r := reasonOf(line); r != "" && (r != "project-subdir" || inSubdir) {
				reasons[r] = true
			} else {
				reasons["?: "+line] = true
			}
		}
	}
	cfg, err := parseLocal(filepath.Join(repo, file), repo, args, io.Discard)
	if err != nil {
		refuse(err)
	} else {
		for _, target := range realWorldTargets(cfg) {
			argv := []string{"--context", repo, "-f", filepath.Join(repo, file), "--target", target}
			for k, v := range args {
				argv = append(argv, "--build-arg", k+"="+v)
			}
			var ops bytes.Buffer
			if err := dumpLLB(argv, &ops, io.Discard); err != nil {
				refuse(err)
				continue
			}
			require.NotZero(t, ops.Len(), "%s --target %q: no LLB", file, target)
		}
	}
	out := make([]string, 0, len(reasons))
	for r := range reasons {
		out = append(out, r)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// realWorldTargets is every image and artifact by name, and "" for the
// file's only image when it has no name (`dimg: ~`).
func realWorldTargets(cfg *dappfile.Config) []string {
	var out []string
	for _, img := range cfg.Images {
		if img.Name == "" {
			out = append(out, "")
		} else {
			out = append(out, img.Name)
		}
	}
	return out
}

var unsetArgRE = regexp.MustCompile(`build args? ([A-Za-z0-9_, ]+) (?:is|are) not set`)

// fillUnsetBuildArgs gives a placeholder to each build arg the file's
// errors say is not set and the case did not pass.
func fillUnsetBuildArgs(t *testing.T, repo, file string, args map[string]string) map[string]string {
	t.Helper()
	_, err := parseLocal(filepath.Join(repo, file), repo, args, io.Discard)
	if err == nil {
		return args
	}
	out := map[string]string{}
	for k, v := range args {
		out[k] = v
	}
	for _, m := range unsetArgRE.FindAllStringSubmatch(err.Error(), -1) {
		for _, n := range strings.Split(m[1], ", ") {
			if _, ok := out[n]; !ok {
				out[n] = "alpine"
			}
		}
	}
	return out
}

func reasonOf(line string) string {
	for _, r := range unsupportedReasons {
		if r.pattern.MatchString(line) {
			return r.key
		}
	}
	return ""
}

// readmeSection is the text from heading to the next heading of the same
// or a higher level.
func readmeSection(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+1+len(heading):]
	level := strings.Count(strings.Fields(heading)[0], "#")
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "#") && strings.Count(strings.Fields(l)[0], "#") <= level {
			return rest[:strings.Index(rest, "\n"+l)]
		}
	}
	return rest
}

// stubPlaceholderDockerfiles gives the Dockerfiles of a recreated
// repository a content that parses: mkrepo.sh fills every file that is not
// a build file with its own path, and the corpus does not hold the real
// Dockerfiles a werf.yaml's dockerfile: images name. The werf.yaml's own
// keys (context, target, args) are still converted.
func stubPlaceholderDockerfiles(t *testing.T, repo string) {
	t.Helper()
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(strings.ToLower(d.Name()), "dockerfile") {
			return err
		}
		rel, err := filepath.Rel(repo, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || string(data) != filepath.ToSlash(rel)+"\n" {
			return err
		}
		return os.WriteFile(p, []byte("FROM scratch\nCOPY . /src\n"), 0o644)
	})
	require.NoError(t, err)
}
