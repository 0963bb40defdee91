package llb

import (
	"context"
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

const earlyDappfile = `
artifact: node
from: debian:bookworm
shell:
  beforeInstall: [apt-get install -y nodejs]
---
artifact: assets
fromDimgArtifact: node
git:
- add: /assets
  to: /src
shell:
  beforeInstall: [npm install -g terser]
  install: [npm ci]
---
artifact: docs
fromDimgArtifact: assets
shell:
  beforeInstall: [make docs]
---
dimg: app
from: alpine
git:
- add: /
  to: /app
shell:
  beforeInstall: [apk add curl]
  install: [make]
import:
- artifact: assets
  add: /out
  to: /app/public
  after: setup
- artifact: docs
  add: /out
  to: /app/docs
  after: setup
`

// What a frontend solves early is what the target's graph builds on:
// node whole, the steps of app and assets before their git stages; docs
// builds on assets, which needs git, so nothing of it comes early.
func TestConvertEarlyPartsAreTheTargetsVertices(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.commit(map[string]string{"assets/app.js": "app", "main.go": "package main"})
	opt := r.opt()
	opt.Target = "app"
	target, _ := convert(t, earlyDappfile, opt)
	parts := ConvertEarly(context.Background(), parse(t, earlyDappfile), opt)
	var got []string
	for _, p := range parts {
		got = append(got, p.Target.Name)
		g := marshal(t, p.State)
		require.Contains(t, target.ops, g.head, "the early part of %s is not a vertex of app's graph", p.Target.Name)
		// the part ends with its last step before git
		var last string
		for _, d := range g.chainOps() {
			if e := g.ops[d].GetExec(); e != nil {
				last = e.Meta.Args[len(e.Meta.Args)-1]
			}
		}
		want := map[string]string{"node": "apt-get install -y nodejs", "app": "apk add curl", "assets": "npm install -g terser"}[p.Target.Name]
		require.Equal(t, want, last, p.Target.Name)
	}
	require.ElementsMatch(t, []string{"node", "app", "assets"}, got)

	// a target that needs no git converts at once: nothing early
	opt.Target = "node"
	require.Empty(t, ConvertEarly(context.Background(), parse(t, earlyDappfile), opt))
}
