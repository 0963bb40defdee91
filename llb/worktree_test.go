package llb

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

func TestWorktreeChecks(t *testing.T) {
	t.Parallel()
	const text = `artifact: node
from: busybox:latest
git:
- add: /package.json
  to: /src/package.json
---
artifact: assets
from: busybox:latest
git:
- add: /
  to: /src
  includePaths: [assets]
---
artifact: unused
from: busybox:latest
git:
- add: /docs
  to: /docs
---
dimg: app
fromDimgArtifact: node
git:
- add: /
  to: /app
  excludePaths: [docs]
- url: https://example.com/lib.git
  add: /
  to: /lib
- add: /
  to: /app2
  excludePaths: [docs]
import:
- artifact: assets
  add: /out
  to: /app/public
  after: setup
`
	cfg := parse(t, text)
	type check struct {
		to               string
		include, exclude []string
	}
	for _, tc := range []struct {
		name   string
		target string
		dev    bool
		want   []check
	}{
		{name: "the target and what it builds on, each local mapping", want: []check{
			{"/app", nil, []string{"docs", ".git"}},
			{"/app2", nil, []string{"docs", ".git"}},
			{"/src/package.json", []string{"package.json", "**/.gitignore"}, []string{".git"}},
			{"/src", []string{"assets", "**/.gitignore"}, []string{".git"}},
		}},
		{name: "an artifact target", target: "unused", want: []check{
			{"/docs", []string{"docs", "**/.gitignore"}, []string{".git"}},
		}},
		{name: "dev mode compares nothing", dev: true},
		{name: "unknown target", target: "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []check
			for _, c := range WorktreeChecks(cfg, tc.target, tc.dev) {
				got = append(got, check{c.Mapping.To, c.Include, c.Exclude})
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSharedWorktrees(t *testing.T) {
	t.Parallel()
	m := func(to string) *dappfile.GitMapping { return &dappfile.GitMapping{To: to} }
	a, b, c, d := m("/a"), m("/b"), m("/c"), m("/d")
	type narrowing struct{ include, exclude []string }
	for _, tc := range []struct {
		name   string
		checks []WorktreeCheck
		want   []narrowing
	}{
		{name: "one check keeps its narrowing", checks: []WorktreeCheck{
			{Mapping: a, Include: []string{"src", "**/.gitignore"}, Exclude: []string{".git"}},
		}, want: []narrowing{{[]string{"src", "**/.gitignore"}, []string{".git"}}}},
		{name: "include paths are joined, sorted, once each", checks: []WorktreeCheck{
			{Mapping: a, Include: []string{"src", "**/.gitignore"}, Exclude: []string{".git"}},
			{Mapping: b, Include: []string{"assets", "**/.gitignore"}, Exclude: []string{".git"}},
		}, want: []narrowing{
			{[]string{"**/.gitignore", "assets", "src"}, []string{".git"}},
			{[]string{"**/.gitignore", "assets", "src"}, []string{".git"}},
		}},
		{name: "a check of the whole context takes the others in", checks: []WorktreeCheck{
			{Mapping: a, Include: []string{"package.json", "**/.gitignore"}, Exclude: []string{".git"}},
			{Mapping: b, Exclude: []string{".git"}},
		}, want: []narrowing{{nil, []string{".git"}}, {nil, []string{".git"}}}},
		{name: "the same excludes in another order are the same", checks: []WorktreeCheck{
			{Mapping: a, Include: []string{"src"}, Exclude: []string{"docs", ".git"}},
			{Mapping: b, Include: []string{"lib"}, Exclude: []string{".git", "docs"}},
		}, want: []narrowing{
			{[]string{"lib", "src"}, []string{"docs", ".git"}},
			{[]string{"lib", "src"}, []string{".git", "docs"}},
		}},
		{name: "other excludes keep a transfer of their own", checks: []WorktreeCheck{
			{Mapping: a, Exclude: []string{"node_modules", ".git"}},
			{Mapping: b, Include: []string{"node_modules/lib"}, Exclude: []string{".git"}},
			{Mapping: c, Include: []string{"src"}, Exclude: []string{"node_modules", ".git"}},
			{Mapping: d, Include: []string{"docs"}, Exclude: []string{".git"}},
		}, want: []narrowing{
			{nil, []string{"node_modules", ".git"}},
			{[]string{"docs", "node_modules/lib"}, []string{".git"}},
			{nil, []string{"node_modules", ".git"}},
			{[]string{"docs", "node_modules/lib"}, []string{".git"}},
		}},
		{name: "none", checks: nil, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []narrowing
			for i, s := range SharedWorktrees(tc.checks) {
				require.Same(t, tc.checks[i].Mapping, s.Mapping)
				got = append(got, narrowing{s.Include, s.Exclude})
			}
			require.Equal(t, tc.want, got)
		})
	}
}
