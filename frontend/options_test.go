package frontend

import (
	"os"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
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
		{name: "explicit options", opts: map[string]string{"dev": "true", "project": "p", "auto-cache": "false"}, want: options{dev: true, project: "p", projectSet: true}},
		{name: "build args for buildx", opts: map[string]string{"build-arg:DAPP_DEV": "1", "build-arg:DAPP_PROJECT": "q", "build-arg:DAPP_AUTO_CACHE": "false"}, want: options{dev: true, project: "q", projectSet: true}},
		{name: "option wins over build arg", opts: map[string]string{"project": "opt", "build-arg:DAPP_PROJECT": "arg"}, want: options{project: "opt", projectSet: true, autoCache: true}},
		{name: "patch threshold", opts: map[string]string{"git-patch-threshold": "64k"}, want: options{project: "default", autoCache: true, gitPatchThreshold: 64 << 10}},
		{name: "bad patch threshold", opts: map[string]string{"build-arg:DAPP_GIT_PATCH_THRESHOLD": "lots"}, err: `option git-patch-threshold: "lots" is not a size`},
		{name: "git helper image from build arg", opts: map[string]string{"build-arg:DAPP_GIT_HELPER_IMAGE": "reg/dapp-frontend:1"}, want: options{project: "default", autoCache: true, gitHelperImage: "reg/dapp-frontend:1"}},
		{name: "toolchains", opts: map[string]string{"toolchain-image": "reg/tc:1", "build-arg:DAPP_SHELL_TOOLCHAIN_IMAGE": "reg/tc:1-shell"}, want: options{project: "default", autoCache: true, toolchainImage: "reg/tc:1", shellToolchainImage: "reg/tc:1-shell"}},
		{name: "trace", opts: map[string]string{"build-arg:DAPP_TRACE": "1"}, want: options{project: "default", autoCache: true, trace: true}},
		{name: "bad trace", opts: map[string]string{"trace": "loud"}, err: `option trace: "loud" is not a boolean`},
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

type frontendClient struct{ gwclient.Client }

func (frontendClient) CurrentFrontend() (*bkllb.State, error) {
	st := bkllb.Image("frontend:dev")
	return &st, nil
}

// TestClientWrapperKeepsCurrentFrontend: the client Build wraps to set
// the default filename still tells gitHelper the frontend's image.
func TestClientWrapperKeepsCurrentFrontend(t *testing.T) {
	t.Parallel()
	var c gwclient.Client = &clientWithOpts{Client: frontendClient{}}
	cf, ok := c.(currentFrontend)
	require.True(t, ok)
	st, err := cf.CurrentFrontend()
	require.NoError(t, err)
	require.NotNil(t, st)
	_, err = (&clientWithOpts{}).CurrentFrontend()
	require.NoError(t, err, "no frontend image in-process: nil, no error")
}

// TestProjectFromWerfMeta: a werf.yaml's `project` names the project
// unless the user did.
func TestProjectFromWerfMeta(t *testing.T) {
	t.Parallel()
	cfg := &dappfile.Config{Meta: &dappfile.Meta{Project: "shop"}}
	o, err := parseOptions(map[string]string{"vcs:source": "https://example.com/org/other.git"})
	require.NoError(t, err)
	require.Equal(t, "shop", o.withMeta(cfg).project)
	o, err = parseOptions(map[string]string{"project": "mine"})
	require.NoError(t, err)
	require.Equal(t, "mine", o.withMeta(cfg).project)
	require.Equal(t, "mine", o.withMeta(&dappfile.Config{}).project)
}
