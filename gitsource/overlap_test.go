package gitsource

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

func TestWithAutoExcludes(t *testing.T) {
	t.Parallel()
	outer := &dappfile.GitMapping{Add: "/", To: "/app", ExcludePaths: []string{"tmp"}}
	inner := &dappfile.GitMapping{URL: "https://example.com/lib.git", Add: "/", To: "/app/vendor/lib[1]"}
	other := &dappfile.GitMapping{Add: "/docs", To: "/application"}
	got, err := WithAutoExcludes([]*dappfile.GitMapping{outer, inner, other})
	require.NoError(t, err)
	require.Equal(t, []string{"tmp", `vendor/lib\[1\]`}, got[0].ExcludePaths)
	require.Empty(t, got[1].ExcludePaths)
	require.Empty(t, got[2].ExcludePaths, "/application is not below /app")
	require.Equal(t, []string{"tmp"}, outer.ExcludePaths, "input untouched")

	f, err := NewFilter(nil, got[0].ExcludePaths)
	require.NoError(t, err)
	require.False(t, f.Match("vendor/lib[1]/x.go"))
	require.True(t, f.Match("vendor/lib1/x.go"))

	rootMapping := &dappfile.GitMapping{Add: "/", To: "/"}
	got, err = WithAutoExcludes([]*dappfile.GitMapping{rootMapping, inner})
	require.NoError(t, err)
	require.Equal(t, []string{`app/vendor/lib\[1\]`}, got[0].ExcludePaths)
}

func TestWithAutoExcludesConflict(t *testing.T) {
	t.Parallel()
	a := &dappfile.GitMapping{To: "/app", Loc: dappfile.Range{Start: dappfile.Position{Line: 3, Column: 3}}}
	b := &dappfile.GitMapping{To: "/app/", Loc: dappfile.Range{Start: dappfile.Position{Line: 7, Column: 3}}}
	_, err := WithAutoExcludes([]*dappfile.GitMapping{a, b})
	require.EqualError(t, err, `7:3: git mappings conflict: two mappings put files into "/app"`)
	require.Len(t, dappfile.Locations(err), 2)
}
