package dappfile

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// withShell is an image with a user stage, so its secrets reach a step.
const withShell = "dimg: app\nfrom: alpine\nshell:\n  install: [make]\n"

func TestParseSecrets(t *testing.T) {
	t.Parallel()
	cfg := parse(t, `
		dimg: app
		from: alpine
		shell:
		  install: [make]
		secrets:
		- id: npm_token
		- id: netrc
		  to: /root/.netrc
		  required: false
		- id: token
		  toEnv: GITHUB_TOKEN
		- env: CI_JOB_TOKEN
		- src: ./certs/ca.pem
		- src: ~/.aws/credentials
		  id: aws
		ssh: default
		`)
	img := cfg.Images[0]
	var got []Secret
	for _, s := range img.Secrets {
		got = append(got, Secret{ID: s.ID, To: s.To, ToEnv: s.ToEnv, Optional: s.Optional})
	}
	require.Equal(t, []Secret{
		{ID: "npm_token", To: "/run/secrets/npm_token"},
		{ID: "netrc", To: "/root/.netrc", Optional: true},
		{ID: "token", ToEnv: "GITHUB_TOKEN"},
		{ID: "CI_JOB_TOKEN", To: "/run/secrets/CI_JOB_TOKEN"},
		{ID: "ca.pem", To: "/run/secrets/ca.pem"},
		{ID: "aws", To: "/run/secrets/aws"},
	}, got)
	require.Equal(t, 6, img.Secrets[0].Loc.Start.Line)
	require.Len(t, img.SSH, 1)
	require.Equal(t, SSH{Loc: img.SSH[0].Loc, ID: "default"}, *img.SSH[0])
	require.Equal(t, 16, img.SSH[0].Loc.Start.Line)
}

func TestParseSSHForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ssh string
		want      []SSH
	}{
		{"id", "ssh: default", []SSH{{ID: "default"}}},
		{"list", "ssh: [default, github]", []SSH{{ID: "default"}, {ID: "github"}}},
		{"entries", "ssh:\n- {id: default, required: false}\n- github", []SSH{{ID: "default", Optional: true}, {ID: "github"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := Parse([]byte(withShell+tc.ssh+"\n"), ParseOpt{})
			require.NoError(t, err)
			var got []SSH
			for _, s := range cfg.Images[0].SSH {
				got = append(got, SSH{ID: s.ID, Optional: s.Optional})
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseSecretErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input, err string
	}{
		{"not a list", "secrets: {id: a}\n", "Dappfile:5:10: `secrets` must be a list, got mapping"},
		{"entry not mapping", "secrets: [npm_token]\n", "Dappfile:5:11: `secrets[0]` must be a mapping such as `{id: npm_token}` or `{env: GITHUB_TOKEN}`, got string"},
		{"no id", "secrets:\n- to: /x\n", "Dappfile:6:3: `secrets[0]` needs `id` (or werf's `env` or `src`)"},
		{"unknown key", "secrets:\n- id: a\n  target: /x\n", "Dappfile:7:3: unknown key \"target\" in `secrets[0]`"},
		{"value refused", "secrets:\n- id: pw\n  value: hunter2\n", "Dappfile:7:10: `secrets[0].value` is refused: a value written in the file is no secret (it would be in the build definition and its cache key); pass it to the build with `--secret id=pw,env=VAR`"},
		{"env and src", "secrets:\n- env: A\n  src: ./a\n", "Dappfile:7:8: `secrets[0]` has both `env` and `src`: a secret has one source"},
		{"bad id", "secrets:\n- id: ../etc/passwd\n", "Dappfile:6:7: `secrets[0]` gives the secret id \"../etc/passwd\": an id is 1 to 128 letters"},
		{"empty id", "secrets:\n- id: ''\n", "Dappfile:6:7: `secrets[0]` gives the secret id \"\""},
		{"id with newline", "secrets:\n- id: \"a\\nb\"\n", "`secrets[0]` gives the secret id \"a\\nb\""},
		{"bad env", "secrets:\n- env: A-B\n", "Dappfile:6:8: `secrets[0].env` must name an environment variable, got \"A-B\""},
		{"relative to", "secrets:\n- id: a\n  to: run/a\n", "Dappfile:7:7: `secrets[0].to` must be an absolute path, got \"run/a\""},
		{"dotdot to", "secrets:\n- id: a\n  to: /run/../etc/a\n", "Dappfile:7:7: `secrets[0].to` must not contain `..`, got \"/run/../etc/a\""},
		{"unclean to", "secrets:\n- id: a\n  to: /run//a/\n", "Dappfile:7:7: `secrets[0].to` must be a clean path to a file (no `.`, `//` or trailing `/`), got \"/run//a/\""},
		{"root to", "secrets:\n- id: a\n  to: /\n", "Dappfile:7:7: `secrets[0].to` must not be /"},
		{"proc to", "secrets:\n- id: a\n  to: /proc/self/x\n", "Dappfile:7:7: `secrets[0].to` must not be /proc or below it"},
		{"control to", "secrets:\n- id: a\n  to: \"/a\\x1b[31m\"\n", "`secrets[0].to` must not contain control characters"},
		{"to and toEnv", "secrets:\n- id: a\n  to: /a\n  toEnv: A\n", "Dappfile:8:10: `secrets[0]` has both `to` and `toEnv`: a secret is a file or a variable"},
		{"bad toEnv", "secrets:\n- id: a\n  toEnv: 1A\n", "Dappfile:7:10: `secrets[0].toEnv` must be an environment variable name"},
		{"required type", "secrets:\n- id: a\n  required: sometimes\n", "Dappfile:7:13: `secrets[0].required` must be true or false, got \"sometimes\""},
		{"same file", "secrets:\n- id: a\n- id: b\n  to: /run/secrets/a\n", "Dappfile:7:3: `secrets[1]` writes the file \"/run/secrets/a\" that line 6 already writes"},
		{"same id twice", "secrets:\n- id: a\n- env: a\n", "Dappfile:7:3: `secrets[1]` writes the file \"/run/secrets/a\" that line 6 already writes"},
		{"same variable", "secrets:\n- {id: a, toEnv: T}\n- {id: b, toEnv: T}\n", "Dappfile:7:3: `secrets[1]` writes the variable \"$T\" that line 6 already writes"},
		{"ssh bad type", "ssh: {default: true}\n", "Dappfile:5:7: unknown key \"default\" in `ssh`"},
		{"ssh bool", "ssh: [true]\n", ""},
		{"ssh no id", "ssh:\n- {required: false}\n", "Dappfile:6:3: `ssh[0]` needs `id`: the ssh socket the build forwards (`--ssh default`)"},
		{"ssh bad id", "ssh: 'a b'\n", "Dappfile:5:6: `ssh` gives the ssh id \"a b\""},
		{"ssh dup", "ssh: [default, default]\n", "Dappfile:5:16: `ssh[1]` forwards the ssh id \"default\" that line 5 already forwards"},
		{"ssh nested list", "ssh: [[a]]\n", "Dappfile:5:7: `ssh[0]` must be an ssh id such as `default`, a list of them, or `{id: ..., required: false}`, got list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseAsDappfile([]byte(withShell+tc.input), ParseOpt{})
			if tc.err == "" {
				// `true` is a plain word to an id: it forwards `--ssh true`.
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
			require.NotEmpty(t, Locations(err))
		})
	}
}

// Secrets and ssh reach only shell stages: a document without any says so.
func TestSecretsWithoutShellWarn(t *testing.T) {
	t.Parallel()
	_, warns, err := Parse([]byte("dimg: app\nfrom: alpine\nsecrets: [{id: a}]\nssh: default\n"), ParseOpt{})
	require.NoError(t, err)
	require.Len(t, warns, 2)
	require.Equal(t, 3, warns[0].Range.Start.Line)
	require.Contains(t, warns[0].Message, "`secrets` has no effect: only the commands of `shell` stages get secrets and ssh, and this dimg has none")
	require.Equal(t, 4, warns[1].Range.Start.Line)

	_, warns, err = Parse([]byte(withShell+"secrets: [{id: a}]\n"), ParseOpt{})
	require.NoError(t, err)
	require.Empty(t, warns)
}

// werf.yaml stapel images read the same `secrets:` (werf's own spelling).
func TestParseWerfStapelSecrets(t *testing.T) {
	t.Parallel()
	src := "project: p\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\nsecrets:\n- env: ENV_SECRET\n- src: ./file\nshell:\n  setup: [cat /run/secrets/file]\n"
	cfg, warns, err := Parse([]byte(src), ParseOpt{Werf: true})
	require.NoError(t, err)
	require.Empty(t, warns)
	var got []string
	for _, s := range cfg.Images[0].Secrets {
		got = append(got, s.ID+" "+s.To)
	}
	require.Equal(t, []string{"ENV_SECRET /run/secrets/ENV_SECRET", "file /run/secrets/file"}, got)
}
