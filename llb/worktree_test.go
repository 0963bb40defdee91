package llb

import (
	"testing"

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
