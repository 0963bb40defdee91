package dappfile

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// update rewrites the golden files: go test ./dappfile/ -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestGoldenValid parses testdata/valid/<case>/dappfile.yaml and compares
// Dump plus the warnings with want.txt. A case may hold .dappfiles/
// templates and a context/ directory for .Files.Get; `env` sees
// BUILD_ARG=value.
func TestGoldenValid(t *testing.T) {
	t.Parallel()
	for _, dir := range caseDirs(t, "valid") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, "dappfile.yaml"))
			require.NoError(t, err)
			cfg, warns, err := Parse(data, caseOpt(t, dir))
			require.NoError(t, err)
			got := Dump(cfg)
			for _, w := range warns {
				got += fmt.Sprintf("warning: dappfile.yaml:%s: %s\n", w.Range, w.Message)
			}
			golden(t, filepath.Join(dir, "want.txt"), got)
		})
	}
}

// TestGoldenInvalid parses testdata/invalid/<case>/dappfile.yaml and
// compares the error with error.txt.
func TestGoldenInvalid(t *testing.T) {
	t.Parallel()
	for _, dir := range caseDirs(t, "invalid") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, "dappfile.yaml"))
			require.NoError(t, err)
			_, _, err = Parse(data, caseOpt(t, dir))
			require.Error(t, err)
			require.NotEmpty(t, Locations(err))
			golden(t, filepath.Join(dir, "error.txt"), WithFilename(err, "dappfile.yaml").Error()+"\n")
		})
	}
}

func caseDirs(t *testing.T, kind string) []string {
	dirs, err := filepath.Glob(filepath.Join("testdata", kind, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	return dirs
}

// caseOpt reads the case's templates from <case>/.dappfiles and
// `.Files.Get` from <case>/context.
func caseOpt(t *testing.T, dir string) ParseOpt {
	templates, paths, err := ReadTemplates(DirFS(dir))
	require.NoError(t, err)
	return ParseOpt{
		BuildArgs:     map[string]string{"BUILD_ARG": "value"},
		Templates:     templates,
		TemplatePaths: paths,
		ReadFile:      DirFS(filepath.Join(dir, "context")).ReadFile,
	}
}

// parseAsDappfile is Parse with the file named "Dappfile" where errors
// leave, as the frontend names it: the messages users read.
func parseAsDappfile(data []byte, opt ParseOpt) (*Config, []Warning, error) {
	cfg, warns, err := Parse(data, opt)
	return cfg, warns, WithFilename(err, "Dappfile")
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	require.Equal(t, string(want), got)
}
