package llb

import (
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/require"
)

// TestSecretsAndSSHInUserStages: every user stage of the image gets its
// secrets (as files or variables) and ssh sockets; other ops and other
// images get none; the step's environment has SSH_AUTH_SOCK only.
func TestSecretsAndSSHInUserStages(t *testing.T) {
	t.Parallel()
	g, _ := convert(t, `
dimg: app
from: alpine
secrets:
- id: npm_token
- id: netrc
  to: /root/.netrc
  required: false
- id: gh
  toEnv: GITHUB_TOKEN
ssh: default
import:
- artifact: tools
  add: /usr/bin/tool
  after: install
shell:
  install: [make]
  setup: [make install]
---
artifact: tools
from: alpine
shell:
  install: [make tools]
`, testOpt())
	for _, name := range []string{"make", "make install"} {
		_, op := g.run(t, name)
		exec := op.GetExec()
		secrets := map[string]*pb.Mount{}
		var ssh []*pb.Mount
		for _, m := range exec.Mounts {
			switch m.MountType {
			case pb.MountType_SECRET:
				secrets[m.Dest] = m
			case pb.MountType_SSH:
				ssh = append(ssh, m)
			}
		}
		require.Len(t, secrets, 2, name)
		require.Equal(t, "npm_token", secrets["/run/secrets/npm_token"].SecretOpt.ID)
		require.False(t, secrets["/run/secrets/npm_token"].SecretOpt.Optional, "required by default")
		require.Equal(t, "netrc", secrets["/root/.netrc"].SecretOpt.ID)
		require.True(t, secrets["/root/.netrc"].SecretOpt.Optional)
		require.Equal(t, []*pb.SecretEnv{{ID: "gh", Name: "GITHUB_TOKEN"}}, exec.Secretenv)
		require.Len(t, ssh, 1)
		require.Equal(t, "default", ssh[0].SSHOpt.ID)
		require.False(t, ssh[0].SSHOpt.Optional)
		require.Contains(t, exec.Meta.Env, "SSH_AUTH_SOCK="+ssh[0].Dest)
		for _, e := range exec.Meta.Env {
			require.NotContains(t, e, "GITHUB_TOKEN", "a secret variable is no plain env")
		}
	}
	_, tools := g.run(t, "make tools")
	for _, m := range tools.GetExec().Mounts {
		require.NotEqual(t, pb.MountType_SECRET, m.MountType, "another document's secrets stay there")
		require.NotEqual(t, pb.MountType_SSH, m.MountType)
	}
}

// TestSecretsChangeStageKeys: adding a secret reruns the user stages (the
// mount is part of the step), but the value is never in the definition, so
// the same Dappfile gives the same digests whatever the client passes.
func TestSecretsChangeStageKeys(t *testing.T) {
	t.Parallel()
	plain := "dimg: app\nfrom: alpine\nshell:\n  install: [make]\n"
	g1, _ := convert(t, plain, testOpt())
	g2, _ := convert(t, plain+"secrets: [{id: a}]\n", testOpt())
	g3, _ := convert(t, plain+"secrets: [{id: a}]\n", testOpt())
	d1, _ := g1.run(t, "make")
	d2, _ := g2.run(t, "make")
	d3, _ := g3.run(t, "make")
	require.NotEqual(t, d1, d2)
	require.Equal(t, d2, d3)
}

func TestSecretsOfTarget(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
dimg: app
fromDimg: base
secrets: [{id: a}, {id: b, toEnv: B}]
import:
- artifact: tools
  add: /x
  after: install
---
dimg: base
from: alpine
secrets: [{id: a, to: /a}, {id: c}]
ssh: default
---
artifact: tools
from: alpine
ssh: [default, deploy]
---
dimg: other
from: alpine
secrets: [{id: z}]
`)
	secrets, ssh := Secrets(cfg, cfg.Images[0])
	var ids []string
	for _, s := range secrets {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"a", "b", "c"}, ids)
	require.Equal(t, 3, secrets[0].Loc.Start.Line, "an id is listed at its first entry")
	ids = nil
	for _, s := range ssh {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"default", "deploy"}, ids)
}
