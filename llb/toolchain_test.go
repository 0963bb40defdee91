package llb

import (
	"context"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// toolchainDappfile has a shell artifact and an ansible image.
const toolchainDappfile = `
artifact: tools
from: debian:bookworm
shell:
  install: [make tools]
---
dimg: app
from: debian:bookworm
import:
- artifact: tools
  add: /tools
  after: install
ansible:
  install:
  - shell: echo hi
`

// TestToolchainPerStageKind: a shell stage mounts the shell toolchain
// (bash alone), an ansible stage the whole toolchain; a toolchain-image of
// one's own serves both unless shell-toolchain-image names another.
func TestToolchainPerStageKind(t *testing.T) {
	t.Parallel()
	const own, ownShell = "registry.test/toolchain:1", "registry.test/toolchain:1-shell"
	for _, tt := range []struct {
		name                   string
		toolchain, shellImage  string
		wantShell, wantAnsible string
	}{
		{"defaults", "", "", DefaultShellToolchainImage, DefaultToolchainImage},
		{"a toolchain of one's own", own, "", own, own},
		{"a shell toolchain of one's own", "", ownShell, ownShell, DefaultToolchainImage},
		{"both", own, ownShell, ownShell, own},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opt := testOpt()
			opt.ToolchainImage, opt.ShellToolchainImage = tt.toolchain, tt.shellImage
			g, _ := convert(t, toolchainDappfile, opt)
			toolchainOf := func(name string) string {
				_, op := byName(t, g, name)
				for _, m := range op.GetExec().Mounts {
					if m.Dest == ToolchainPrefix {
						src := g.ops[digest.Digest(op.Inputs[m.Input].Digest)].GetSource()
						require.NotNil(t, src)
						ref, _, _ := strings.Cut(strings.TrimPrefix(src.Identifier, "docker-image://"), "@")
						return ref
					}
				}
				t.Fatalf("%s mounts no toolchain", name)
				return ""
			}
			require.Equal(t, tt.wantShell, toolchainOf("[tools] install"), "the shell stage")
			require.Equal(t, tt.wantAnsible, toolchainOf("[app] install"), "the ansible stage")
		})
	}
}

// TestToolchainRefErrorsNameTheOption: a reference that does not parse is
// refused with the option it came from.
func TestToolchainRefErrorsNameTheOption(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		toolchain, shellImage, want string
	}{
		{"", "Not A Ref", `invalid shell toolchain image "Not A Ref" (option shell-toolchain-image)`},
		{"Not A Ref", "", `invalid toolchain image "Not A Ref" (option toolchain-image)`},
		{"Not A Ref", "registry.test/toolchain:1-shell", `invalid toolchain image "Not A Ref" (option toolchain-image)`},
	} {
		opt := testOpt()
		opt.ToolchainImage, opt.ShellToolchainImage = tt.toolchain, tt.shellImage
		_, err := Convert(context.Background(), parse(t, toolchainDappfile), opt)
		require.ErrorContains(t, err, tt.want)
	}
}
