package llb

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const gitFreeDappfile = `
artifact: node
from: debian:bookworm
shell:
  beforeInstall: [apt-get install -y nodejs]
---
artifact: tools
fromDimgArtifact: node
shell:
  install: [npm install -g tool]
---
artifact: assets
fromDimgArtifact: node
git:
- add: /assets
  to: /src
shell:
  install: [npm ci]
---
artifact: fonts
from: busybox
shell:
  install: [fetch fonts]
---
artifact: docs
fromDimgArtifact: assets
shell:
  install: [make docs]
---
dimg: app
fromDimgArtifact: tools
git:
- add: /
  to: /app
import:
- artifact: assets
  add: /out
  to: /app/public
  after: setup
- artifact: fonts
  add: /fonts
  to: /app/fonts
  after: setup
---
dimg: plain
fromDimgArtifact: node
shell:
  install: [echo plain]
`

func TestGitFreeBases(t *testing.T) {
	t.Parallel()
	cfg := parse(t, gitFreeDappfile)
	for _, tc := range []struct {
		target string
		want   []string
	}{
		// tools builds on node: one solve of tools holds both; assets and
		// docs map git (docs through assets)
		{"app", []string{"tools", "fonts"}},
		{"assets", []string{"node"}},
		{"docs", []string{"node"}},
		// a target that needs no git waits for nothing
		{"plain", nil},
		{"node", nil},
		{"nope", nil},
	} {
		t.Run(tc.target, func(t *testing.T) {
			var got []string
			for _, im := range GitFreeBases(cfg, tc.target) {
				got = append(got, im.Name)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// The frontend solves a git-free base before the target's plan is ready:
// the base converted on its own must be the very vertex the target's graph
// builds on, or BuildKit would run its steps twice.
func TestGitFreeBaseIsTheTargetsVertex(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.commit(map[string]string{"assets/app.js": "app", "main.go": "package main"})
	opt := r.opt()
	opt.Target = "app"
	target, _ := convert(t, gitFreeDappfile, opt)
	for _, base := range []string{"tools", "fonts"} {
		opt.Target = base
		g, _ := convert(t, gitFreeDappfile, opt)
		require.Contains(t, target.ops, g.head, "%s converted alone is not the vertex app builds on", base)
	}
}
