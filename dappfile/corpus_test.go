package dappfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// corpusDir finds shared/corpus, which sits beside the repository (CI
// clones the repository next to shared/), from the module root.
func corpusDir(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			skipUnlessCI(t, "module root not found")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		skipUnlessCI(t, "corpus not found at %s", corpus)
	}
	return corpus
}

// skipUnlessCI skips a test that needs ../shared when it is missing, but
// fails it when CI is set: in CI a missing corpus is a broken checkout,
// not a reason to pass.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf(format+" (CI=%s: ../shared must sit beside the repository)", append(args, ci)...)
	}
	t.Skipf(format, args...)
}

// corpusWant is the unsupported part each real dapp Dappfile must be
// refused for. Files not listed must parse, or be refused for one of
// unsupportedParts.
var corpusWant = map[string][]string{
	"sample-playground-test1-ansible-conf.yml": {"dappfile.yaml:1:1: \"--- !ruby/object:Dapp::Config::Config\": ruby tag"},
	"sample-playground-test1-dappfile.yml":     {"dappfile.yaml:45:1: `chef` is not supported"},
	// `tag` is no task keyword (`tags` is): ansible refuses the task too
	"sample-playground-test2-dappfile.yml": {"dappfile.yaml:15:7: `ansible.install[0]` has more than one module: apk, tag; a task runs one (`tag`: did you mean `tags`?)"},
	"sample-samples-main-dappfile.yaml": {
		"dappfile.yaml:37:5: `git[0].excludePaths` must hold paths relative to `add`, got absolute path \"/hello\"",
	},
	// A template of every directive with <placeholders>: it must fail on
	// the placeholders, cleanly.
	"sample-samples-directives-dappfile.yaml": {
		"dappfile.yaml:4:1: `from` and `fromDimg` cannot be used together",
		"dappfile.yaml:9:8: `git[0].add` must be an absolute path, got \"<absolute_path>\"",
		"dappfile.yaml:47:11: `import[0].before` must be \"install\" or \"setup\", got \"<install || setup>\"",
		"dappfile.yaml:71:1: `shell` and `ansible` cannot be used together",
		"dappfile.yaml:73:5: `ansible.beforeInstall[0]` must be an ansible task (a mapping such as `apt: name=curl`), got string",
		"dappfile.yaml:109:11: `asLayers` must be true or false, got \"<false || true>\"",
	},
}

var unsupportedParts = []string{"`chef` is not supported", "ruby tag"}

func TestCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "*", "Dappfile"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			cfg, _, err := Parse(data, ParseOpt{})
			err = WithFilename(err, "dappfile.yaml")
			want, listed := corpusWant[name]
			switch {
			case listed:
				for _, w := range want {
					require.ErrorContains(t, err, w)
				}
			case err != nil:
				require.Regexp(t, `chef|ruby tag`, err.Error(), "refused, but not for an unsupported part")
			default:
				require.NotEmpty(t, cfg.Images)
			}
			if err != nil {
				require.Equal(t, len(splitLines(err.Error())), len(Locations(err)), "every error has a location")
			}
		})
	}
}
