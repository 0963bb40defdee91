package gitllb

import (
	"testing"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/patternmatcher"
	"github.com/stretchr/testify/require"
)

// TestCopyPatternsSelectLikeCommits: dev mode and remote mappings filter
// with BuildKit's copy patterns, local mappings with gitsource.Filter; a
// pattern must select the same paths in both, or dev mode builds other
// files than the commit does.
func TestCopyPatternsSelectLikeCommits(t *testing.T) {
	t.Parallel()
	paths := []string{
		"a", "b", "x", "ab", "ayb", "a/b", "a/x/b", "src/main.js", "src/lib/util.js", "main.js",
		"!keep", "keep", "{a,b}", "a.go", "docs/a.go", "node_modules/m/index.js", "a b", "[x]",
	}
	for _, pattern := range []string{
		"a", "src", "**/*.js", "*.js", "a[!x]b", "a[^x]b", "[a-c]", "a?b", "!keep", "{a,b}",
		"**/a.go", "node_modules", "src/**", "a/**/b", `\[x\]`, "a b",
	} {
		t.Run(pattern, func(t *testing.T) {
			t.Parallel()
			f, err := gitsource.NewFilter([]string{pattern}, nil)
			require.NoError(t, err)
			pm, err := patternmatcher.New([]string{gitsource.CopyPattern(pattern)})
			require.NoError(t, err)
			for _, p := range paths {
				copied, err := pm.MatchesOrParentMatches(p)
				require.NoError(t, err)
				require.Equal(t, f.Match(p), copied, "path %q (copy pattern %q)", p, gitsource.CopyPattern(pattern))
			}
		})
	}
}
