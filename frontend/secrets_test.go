package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/stretchr/testify/require"
)

const withSecrets = `dimg: app
from: alpine
secrets:
- id: npm_token
- {id: netrc, to: /root/.netrc, required: false}
ssh: [default, {id: deploy, required: false}]
shell:
  install: [npm ci]
`

func TestSubrequestOutlineSecrets(t *testing.T) {
	t.Parallel()
	c := newStub(map[string]string{"Dappfile": withSecrets}, map[string]string{"requestid": outline.SubrequestsOutlineDefinition.Name})
	res, err := Build(context.Background(), c)
	require.NoError(t, err)
	var o outline.Outline
	require.NoError(t, json.Unmarshal(res.Metadata["result.json"], &o))
	require.Len(t, o.Secrets, 2)
	require.Equal(t, "npm_token", o.Secrets[0].Name)
	require.True(t, o.Secrets[0].Required)
	require.Equal(t, int32(4), o.Secrets[0].Location.Ranges[0].Start.Line)
	require.Equal(t, "netrc", o.Secrets[1].Name)
	require.False(t, o.Secrets[1].Required)
	require.Len(t, o.SSH, 2)
	require.Equal(t, "default", o.SSH[0].Name)
	require.True(t, o.SSH[0].Required)
	require.Equal(t, "deploy", o.SSH[1].Name)
	require.False(t, o.SSH[1].Required)
}

func TestExplainMissingSecret(t *testing.T) {
	t.Parallel()
	cfg, _, err := dappfile.Parse([]byte(withSecrets), dappfile.ParseOpt{})
	require.NoError(t, err)
	img := cfg.Images[0]
	for _, tc := range []struct {
		name, solveErr, want string
		line                 int
	}{
		{"secret", "process \"/bin/sh -ec npm ci\" did not complete successfully: secret npm_token: not found",
			"Dappfile:4:3: secret \"npm_token\" is required but the build was given none: pass it with `--secret id=npm_token,src=FILE` or `--secret id=npm_token,env=VAR` (buildx and buildctl), or set `required: false`: process", 4},
		{"no agent", `no SSH key "default" forwarded from the client`,
			"Dappfile:6:7: ssh \"default\" is required but the build forwards no such socket: pass `--ssh default`", 6},
		{"other agent", "unset ssh forward key deploy",
			"Dappfile:6:16: ssh \"deploy\" is required but the build forwards no such socket: pass `--ssh deploy`", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := dappfile.WithFilename(explainMissingSecret(errors.New(tc.solveErr), cfg, img, nil), "Dappfile")
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, tc.solveErr, "BuildKit's own words stay")
			require.Equal(t, tc.line, dappfile.Locations(err)[0].Start.Line)
		})
	}
	// A secret the Dappfile does not name, or another failure, is left alone.
	for _, msg := range []string{"secret other: not found", "exit code: 1"} {
		in := errors.New(msg)
		require.Same(t, in, explainMissingSecret(in, cfg, img, nil))
	}
	require.Empty(t, errdefs.Sources(explainMissingSecret(errors.New("x"), cfg, img, nil)))
}
