package frontend

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts map[string]string
		want options
		err  string
	}{
		{name: "defaults", opts: nil, want: options{project: "default", autoCache: true}},
		{name: "project from git remote", opts: map[string]string{"vcs:source": "https://example.com/org/shop.git"}, want: options{project: "shop", autoCache: true}},
		{name: "explicit options", opts: map[string]string{"dev": "true", "project": "p", "auto-cache": "false"}, want: options{dev: true, project: "p"}},
		{name: "build args for buildx", opts: map[string]string{"build-arg:DAPP_DEV": "1", "build-arg:DAPP_PROJECT": "q", "build-arg:DAPP_AUTO_CACHE": "false"}, want: options{dev: true, project: "q"}},
		{name: "option wins over build arg", opts: map[string]string{"project": "opt", "build-arg:DAPP_PROJECT": "arg"}, want: options{project: "opt", autoCache: true}},
		{name: "patch threshold", opts: map[string]string{"git-patch-threshold": "64k"}, want: options{project: "default", autoCache: true, gitPatchThreshold: 64 << 10}},
		{name: "bad patch threshold", opts: map[string]string{"build-arg:DAPP_GIT_PATCH_THRESHOLD": "lots"}, err: `option git-patch-threshold: "lots" is not a size`},
		{name: "bad boolean", opts: map[string]string{"dev": "yes please"}, err: `option dev: "yes please" is not a boolean`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseOptions(tc.opts)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestOptionsDocumented keeps README.md's option table in step with the
// options the frontend reads.
func TestOptionsDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, key := range ownOptions {
		require.Contains(t, string(readme), "--opt "+key+"=", "README documents option %s", key)
	}
}
