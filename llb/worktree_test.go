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
	for _, tc := range []struct {
		name   string
		target string
		dev    bool
		want   []WorktreeCheck
	}{
		{name: "the target and what it builds on, each narrowing once", want: []WorktreeCheck{
			{Include: []string{"package.json", "**/.gitignore"}, Exclude: []string{".git"}},
			{Include: []string{"assets", "**/.gitignore"}, Exclude: []string{".git"}},
			{Exclude: []string{"docs", ".git"}},
		}},
		{name: "an artifact target", target: "unused", want: []WorktreeCheck{
			{Include: []string{"docs", "**/.gitignore"}, Exclude: []string{".git"}},
		}},
		{name: "dev mode compares nothing", dev: true},
		{name: "unknown target", target: "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, WorktreeChecks(cfg, tc.target, tc.dev))
		})
	}
}
