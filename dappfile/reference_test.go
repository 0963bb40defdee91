package dappfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReferenceKeys parses the image example of the shared Dappfile
// reference: every key it shows must be known. (The example sets all three
// bases and imports an artifact it does not define, so it does not
// validate.)
func TestReferenceKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(filepath.Dir(corpusDir(t)), "dappfile-reference.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		skipUnlessCI(t, "reference not found: %v", err)
	}
	_, example, ok := strings.Cut(string(doc), "## Image document")
	require.True(t, ok)
	_, example, _ = strings.Cut(example, "```yaml\n")
	example, _, _ = strings.Cut(example, "```")
	_, _, err = parseAsDappfile([]byte(example), ParseOpt{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "unknown key")
	require.NotContains(t, err.Error(), " must be ")
	require.Equal(t, []string{
		"Dappfile:4:1: `from` and `fromDimg` cannot be used together: an image has one base",
		"Dappfile:5:1: `from` and `fromDimgArtifact` cannot be used together: an image has one base",
		"Dappfile:36:13: `import[0].artifact` names unknown artifact \"assets\"",
	}, splitLines(err.Error()))
}
