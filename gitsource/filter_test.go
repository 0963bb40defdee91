package gitsource

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	tcs := []struct {
		name             string
		include, exclude []string
		path             string
		want             bool
	}{
		{"no patterns", nil, nil, "a/b.go", true},
		{"dir matches content", []string{"src"}, nil, "src/a/b.go", true},
		{"dir prefix is not a match", []string{"src"}, nil, "srcx/a.go", false},
		{"star within element", []string{"*.js"}, nil, "a.js", true},
		{"star does not cross slash", []string{"*.js"}, nil, "lib/a.js", false},
		{"double star recursive", []string{"**/*.js"}, nil, "lib/x/a.js", true},
		{"double star matches zero elements", []string{"**/*.js"}, nil, "a.js", true},
		{"double star in the middle", []string{"src/**/test"}, nil, "src/a/b/test/x.go", true},
		{"exclude dir content", nil, []string{"node_modules"}, "node_modules/x/y.js", false},
		{"exclude wins over include", []string{"src"}, []string{"src/gen"}, "src/gen/a.go", false},
		{"exclude other", []string{"src"}, []string{"src/gen"}, "src/main.go", true},
		{"slash selects all", []string{"/"}, nil, "x/y", true},
		{"leading slash ignored", []string{"/src"}, nil, "src/y", true},
		{"question mark", []string{"?.txt"}, nil, "a.txt", true},
	}
	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewFilter(tc.include, tc.exclude)
			require.NoError(t, err)
			require.Equal(t, tc.want, f.Match(tc.path))
		})
	}
}

func TestFilterMayContain(t *testing.T) {
	t.Parallel()
	f, err := NewFilter([]string{"src/**/*.go", "docs"}, []string{"vendor"})
	require.NoError(t, err)
	require.True(t, f.MayContain("src"))
	require.True(t, f.MayContain("src/a/b"))
	require.True(t, f.MayContain("docs/x"))
	require.False(t, f.MayContain("lib"))
	require.False(t, f.MayContain("vendor"))
}

func TestFilterInvalidPattern(t *testing.T) {
	t.Parallel()
	_, err := NewFilter([]string{"a["}, nil)
	require.ErrorContains(t, err, `includePaths: invalid pattern "a["`)
}

func TestFilterLibrarySemantics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"src/{a,b}", "src/a", false},
		{"src/{a,b}", "src/{a,b}/x", true},
		{"src/**/**/test", "src/test/x", true},
		{"**/**", "x/y", true},
		{"[ab].txt", "b.txt", true},
		{"[^ab].txt", "c.txt", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"*.js", "dir.js/inner/a.txt", true},
	} {
		f, err := NewFilter([]string{tc.pattern}, nil)
		require.NoError(t, err, tc.pattern)
		require.Equal(t, tc.want, f.Match(tc.path), "%s ~ %s", tc.pattern, tc.path)
	}
}

// TestFilterManyDoubleStarsFast is issue 11's reproducer: `**` repeated
// against a long path took exponential time with a recursive matcher.
func TestFilterManyDoubleStarsFast(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a/", 2000) + "b"
	for _, pat := range []string{
		strings.Repeat("**/", 300) + "x",                      // consecutive: one `**`
		strings.Repeat("**/a/", maxDoubleStars-1) + "**/x",    // the most `**` allowed
		strings.Repeat("*a", 200) + "x",                       // stars within an element
		strings.Repeat("**/", 100) + strings.Repeat("a/", 50), // matches
	} {
		f, err := NewFilter([]string{pat}, []string{pat})
		require.NoError(t, err)
		start := time.Now()
		for i := 0; i < 10; i++ {
			f.Match(long)
			f.MayContain(long)
		}
		require.Less(t, time.Since(start), time.Second, "%.30s...", pat)
	}
}

func TestFilterPatternBounds(t *testing.T) {
	t.Parallel()
	_, err := NewFilter([]string{strings.Repeat("a", maxPatternLen+1)}, nil)
	require.ErrorContains(t, err, "includePaths: pattern \"aaaa")
	require.ErrorContains(t, err, "is 1025 bytes long; at most 1024 are allowed")
	_, err = NewFilter(nil, []string{strings.Repeat("**/a/", maxDoubleStars+1)})
	require.ErrorContains(t, err, "excludePaths: pattern")
	require.ErrorContains(t, err, "has 17 `**` elements; at most 16 are allowed")
}

// TestFilterClassesStayInOneElement: a class or an escape matches one
// character of one path element, as in dapp; doublestar alone would let a
// negated class match `/`, so Match and the tree walk would disagree.
func TestFilterClassesStayInOneElement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, rel string
		match        bool
		err          string
	}{
		{pattern: "a[!x]b", rel: "a/b", match: false},
		{pattern: "a[!x]b", rel: "ayb", match: true},
		{pattern: "a[^x]b", rel: "a/b", match: false},
		{pattern: "[a-c]x", rel: "bx", match: true},
		{pattern: "a[/]b", err: "invalid pattern \"a[/]b\": element \"a[\" has a `[` with no `]` in the same path element"},
		{pattern: `a\/b`, err: "invalid pattern \"a\\\\/b\": element \"a\\\\\" ends in `\\`"},
	} {
		t.Run(tc.pattern+" "+tc.rel, func(t *testing.T) {
			t.Parallel()
			f, err := NewFilter([]string{tc.pattern}, nil)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.match, f.Match(tc.rel))
		})
	}
}
