//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/stretchr/testify/require"
)

// secretsDappfile reads the secret as a file, as a variable and at a path
// of its own, and proves it saw the value by writing only its hash.
const secretsDappfile = `dimg: app
from: busybox:latest
secrets:
- id: tok
- {id: tok, toEnv: TOK}
- {id: tok, to: /root/.tok}
- {id: absent, required: false}
shell:
  install:
  - sha256sum /run/secrets/tok | cut -d' ' -f1 > /file.sha
  - cmp /run/secrets/tok /root/.tok
  - printf %s "$TOK" | sha256sum | cut -d' ' -f1 > /env.sha
  - test ! -e /run/secrets/absent
  - echo "the secret has ${#TOK} bytes"
  setup:
  - test -n "$TOK" && echo setup sees it too
`

func secretValue(t *testing.T) string {
	var b [16]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return "dapp-e2e-secret-" + hex.EncodeToString(b[:])
}

// TestSecretsNeverLeak builds with a secret whose value is a fresh random
// string, checks the steps saw it (as a file and as a variable), then looks
// for it everywhere the build leaves something: every blob of the exported
// image (layers decompressed, manifests, config), every definition the
// frontend solved, and the whole progress stream with its logs.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	value := secretValue(t)
	// A new value alone does not rerun a stage: make this run's steps new.
	df := strings.Replace(secretsDappfile, "  install:\n", "  install:\n  - echo "+gitNonce()+"\n", 1)
	dir := writeTree(t, map[string]string{"Dappfile": df})
	opt := inProcessOpt(t, dir, nil)
	opt.Session = []session.Attachable{secretsprovider.FromMap(map[string][]byte{"tok": []byte(value)})}
	rb := &recordedBuild{}
	dest := filepath.Join(t.TempDir(), "image.oci.tar")
	_, prog, err := solve(t, newClient(t), withOCIExport(opt, dest), rb.Build)
	require.NoError(t, err)
	layout, err := readOCITar(dest)
	require.NoError(t, err)
	img := layout.Image(t, "")

	sum := sha256.Sum256([]byte(value))
	want := hex.EncodeToString(sum[:]) + "\n"
	require.Equal(t, want, string(img.File(t, "/file.sha").Content), "the step read the secret file")
	require.Equal(t, want, string(img.File(t, "/env.sha").Content), "the step read the secret variable")
	require.Contains(t, prog.Log(t, "[app] install"), fmt.Sprintf("the secret has %d bytes", len(value)))
	require.Contains(t, prog.Log(t, "[app] setup"), "setup sees it too")
	require.False(t, img.Exists(t, "/run/secrets/tok"), "no secret file stays in the image")
	require.False(t, img.Exists(t, "/root/.tok"))

	needle := []byte(value)
	for d, blob := range layout.blobs {
		require.False(t, bytes.Contains(blob, needle), "blob %s holds the secret", d)
		if zr, err := gzip.NewReader(bytes.NewReader(blob)); err == nil {
			raw, err := io.ReadAll(zr)
			require.NoError(t, err, "decompress %s", d)
			require.False(t, bytes.Contains(raw, needle), "layer %s holds the secret", d)
		}
	}
	for _, e := range img.Config.Config.Env {
		require.NotContains(t, e, "TOK=", "no secret variable in the image config")
	}
	rb.mu.Lock()
	require.NotEmpty(t, rb.defs)
	for _, def := range rb.defs {
		dt, err := def.MarshalVT()
		require.NoError(t, err)
		require.False(t, bytes.Contains(dt, needle), "a solved definition holds the secret")
	}
	rb.mu.Unlock()
	require.NotContains(t, prog.Dump(), value, "progress names the secret")
	for _, v := range prog.Vertices() {
		require.NotContains(t, prog.Log(t, v.Name), value, "the log of %q shows the secret", v.Name)
		require.NotContains(t, v.Name, value)
	}
}

// TestMissingSecretNamesIt: a required secret the client does not pass
// fails the build with an error naming it and its Dappfile line, through
// buildctl and the frontend image; with --secret the same build passes.
func TestMissingSecretNamesIt(t *testing.T) {
	t.Parallel()
	e := env(t)
	// A cached step needs no secret: this run's step is new.
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nsecrets:\n- id: npm_token\nshell:\n  install: [test -s /run/secrets/npm_token, echo " + gitNonce() + "]\n"})
	args := []string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + e.FrontendImage(), "--opt", "toolchain-image=" + e.ToolchainImage,
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--opt", "context:busybox=docker-image://" + e.Image("busybox:latest")}
	r := buildctl(t, args...)
	require.Error(t, r.Err)
	require.Contains(t, r.Stderr, `secret "npm_token" is required but the build was given none: pass it with `+"`--secret id=npm_token,src=FILE`", "stderr:\n%s", tail(r.Stderr, 4000))
	require.Contains(t, r.Stderr, "Dappfile:4", "buildctl prints the secrets entry:\n%s", tail(r.Stderr, 4000))

	envv := append(cleanEnv("BUILDKIT_HOST="+e.BuildkitHost), "DAPP_E2E_NPM_TOKEN="+secretValue(t))
	r = runCmd(t, envv, binPath(t, "buildctl"), append(args, "--secret", "id=npm_token,env=DAPP_E2E_NPM_TOKEN")...)
	mustRun(t, r)
}

// TestMissingSSHNamesIt: `ssh: default` without a forwarded agent is an
// error naming the socket and its line (in process, source-mapped).
func TestMissingSSHNamesIt(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nshell:\n  install: [true]\nssh: default\n"})
	_, _, err := solve(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
	require.Error(t, err)
	require.ErrorContains(t, err, `Dappfile:5:6: ssh "default" is required but the build forwards no such socket: pass `+"`--ssh default`")
	var lines []int32
	for _, s := range errdefs.Sources(err) {
		lines = append(lines, s.Ranges[0].Start.Line)
	}
	require.Contains(t, lines, int32(5), "the error carries the ssh line: %v", err)
}

// TestSSHAgentForwarded: a step lists the keys of a real ssh-agent
// forwarded with `ssh: default` and sees the test key's fingerprint. The
// lister is a static Go program (busybox has no ssh-add) brought in by a
// git mapping.
func TestSSHAgentForwarded(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ssh-agent", "ssh-keygen", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: install openssh-client", tool)
		}
	}
	work := t.TempDir()
	sock := filepath.Join(work, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	require.NoError(t, agent.Start())
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		_ = agent.Wait()
	})
	key := filepath.Join(work, "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dapp-e2e", "-f", key).CombinedOutput()
	require.NoError(t, err, "%s", out)
	add := func() error {
		cmd := exec.Command("ssh-add", key)
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		return cmd.Run()
	}
	// ssh-agent creates its socket after it starts: wait for it by asking.
	for i := 0; add() != nil; i++ {
		require.Less(t, i, 100, "ssh-agent at %s does not answer", sock)
		time.Sleep(50 * time.Millisecond)
	}
	out, err = exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").CombinedOutput()
	require.NoError(t, err, "%s", out)
	fingerprint := strings.Fields(string(out))[1]

	repo := newGitRepo(t)
	bin := filepath.Join(repo.dir, "agentls")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/agentls")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "build agentls: %s", out)
	repo.commit("agentls " + gitNonce())

	df := dappDir(t, `dimg: app
from: busybox:latest
git:
- add: /agentls
  to: /usr/local/bin/agentls
ssh: default
shell:
  install:
  - echo `+gitNonce()+`
  - test -S "$SSH_AUTH_SOCK"
  - agentls | tee /keys
`)
	agentProvider, err := sshprovider.NewSSHAgentProvider([]sshprovider.AgentConfig{{ID: "default", Paths: []string{sock}}})
	require.NoError(t, err)
	opt := gitSolveOpt(t, repo.dir, df, nil)
	opt.Session = []session.Attachable{agentProvider}
	img, _ := solveOCI(t, newClient(t), opt, frontend.Build)
	require.Equal(t, fingerprint+"\n", string(img.File(t, "/keys").Content), "the step sees the agent's key")
	for _, e := range img.Config.Config.Env {
		require.False(t, strings.HasPrefix(e, "SSH_AUTH_SOCK="), "SSH_AUTH_SOCK stays out of the image config")
	}
}
