package llb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

// An image built on another starts from the values (env, dir, platform)
// of the chain's `from:` image, not from the base's last state: the exec
// ops must see exactly what they saw through the chain.
func TestFromDimgChainKeepsBaseValues(t *testing.T) {
	t.Parallel()
	opt := testOpt()
	opt.ImageResolver = &fakeResolver{config: map[string]any{"Env": []string{"PATH=/bin", "A=1"}, "WorkingDir": "/w"}}
	opt.Target = "c"
	g, _ := convert(t, `
dimg: a
from: alpine
shell:
  install: [step-a]
---
dimg: b
fromDimg: a
shell:
  install: [step-b]
---
dimg: c
fromDimg: b
shell:
  install: [step-c]
`, opt)
	for _, step := range []string{"step-a", "step-b", "step-c"} {
		_, op := g.run(t, step)
		meta := op.GetExec().GetMeta()
		require.Equal(t, []string{"PATH=/bin", "A=1"}, meta.Env, step)
		require.Equal(t, "/w", meta.Cwd, step)
		require.Equal(t, "linux", op.GetPlatform().GetOS(), step)
	}
}

// Thousands of images chained with fromDimg, each importing an artifact of
// a second chain, convert in time linear in the number of images: the
// quadratic lookups this replaced took minutes for 3000 images, the bound
// below is generous for a loaded CI machine.
func TestChainedImagesConvertInLinearTime(t *testing.T) {
	const n = 3000
	var sb strings.Builder
	sb.WriteString("artifact: a0\nfrom: alpine\nshell:\n  install: [a0]\n")
	for i := 1; i < n/10; i++ {
		fmt.Fprintf(&sb, "---\nartifact: a%d\nfromDimgArtifact: a%d\nshell:\n  install: [a%d]\n", i, i-1, i)
	}
	sb.WriteString("---\ndimg: i0\nfrom: alpine\nshell:\n  install: [i0]\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&sb, "---\ndimg: i%d\nfromDimg: i%d\nimport:\n- artifact: a%d\n  add: /a\n  to: /a%d\n  before: setup\nshell:\n  install: [i%d]\n",
			i, i-1, i%(n/10), i, i)
	}
	start := time.Now()
	cfg, _, err := dappfile.Parse([]byte(sb.String()), dappfile.ParseOpt{})
	require.NoError(t, err)
	parsed := time.Now()
	res := &fakeResolver{}
	opt := testOpt()
	opt.ImageResolver = res
	opt.Target = fmt.Sprintf("i%d", n-1)
	opt.AutoCache = true
	out, err := Convert(context.Background(), cfg, opt)
	require.NoError(t, err)
	def, err := out.State.Marshal(context.Background())
	require.NoError(t, err)
	took := time.Since(parsed)
	t.Logf("%d images: parse %v, convert and marshal %v, %d ops", n+n/10, parsed.Sub(start), took, len(def.Def))
	// one resolution of the shared base per chain, whatever the length,
	// and one of the toolchain
	require.Len(t, res.asked, 3)
	// every image and artifact contributes its ops once
	require.Greater(t, len(def.Def), n+n/10)
	require.Less(t, took, 20*time.Second, "converting chained images must stay linear")
}
