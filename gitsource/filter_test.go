package gitsource

import (
	"testing"

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
