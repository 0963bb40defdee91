//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binPath finds a tool: DAPP_E2E_BIN_DIR first, then PATH. Missing → test fails.
func binPath(t testing.TB, name string) string {
	t.Helper()
	if dir := env(t).BinDir; dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in DAPP_E2E_BIN_DIR or PATH (run `hack/e2e-env.sh tools`)", name)
	}
	return p
}

// cleanEnv is the process environment without the variables that would make
// the docker/buildx CLIs use anything but what a test sets up.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DOCKER_") || strings.HasPrefix(k, "BUILDX_") || k == "BUILDKIT_HOST" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// CmdResult is what a CLI run printed.
type CmdResult struct {
	Stdout, Stderr string
	Err            error
}

func runCmd(t testing.TB, envv []string, name string, args ...string) CmdResult {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), name, args...)
	cmd.Env = envv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Logf("$ %s %s", filepath.Base(name), strings.Join(args, " "))
	err := cmd.Run()
	return CmdResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// buildctl runs the buildctl CLI against BUILDKIT_HOST and returns what it
// printed (progress goes to Stderr). Use mustRun to fail on error.
func buildctl(t testing.TB, args ...string) CmdResult {
	t.Helper()
	e := env(t)
	return runCmd(t, cleanEnv("BUILDKIT_HOST="+e.BuildkitHost), binPath(t, "buildctl"), args...)
}

// mustRun fails the test, with the command's output, when r holds an error.
func mustRun(t testing.TB, r CmdResult) CmdResult {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("command failed: %v\nstdout:\n%s\nstderr:\n%s", r.Err, r.Stdout, tail(r.Stderr, 8000))
	}
	return r
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Buildx drives the buildx CLI through a `remote` builder on BUILDKIT_HOST,
// with its own DOCKER_CONFIG so nothing of the user's docker setup is used or
// changed. With a docker CLI on PATH it runs `docker buildx …` (buildx
// installed as a CLI plugin in that config); without one it runs the buildx
// binary standalone.
type Buildx struct {
	t         testing.TB
	Builder   string
	ConfigDir string
	docker    string // docker CLI path, "" for standalone buildx
	buildx    string
}

// newBuildx creates a uniquely named remote builder for this test.
func newBuildx(t testing.TB) *Buildx {
	t.Helper()
	return newBuildxOn(t, env(t).BuildkitHost)
}

// newBuildxOn is newBuildx with the builder on the buildkitd at addr.
func newBuildxOn(t testing.TB, addr string) *Buildx {
	t.Helper()
	b := buildxCLI(t)
	mustRun(t, b.Run("create", "--name", b.Builder, "--driver", "remote", addr))
	return b
}

// newBuildxNodes creates a remote builder with one node per buildkitd,
// each claiming its platform (address, platform pairs), as a fleet of
// native builders is set up.
func newBuildxNodes(t testing.TB, nodes ...[2]string) *Buildx {
	t.Helper()
	b := buildxCLI(t)
	for i, n := range nodes {
		args := []string{"create", "--name", b.Builder, "--driver", "remote", "--node", fmt.Sprintf("%s-%d", b.Builder, i), "--platform", n[1]}
		if i > 0 {
			args = append(args, "--append")
		}
		mustRun(t, b.Run(append(args, n[0])...))
	}
	return b
}

// buildxCLI sets up the buildx CLI with a fresh config and a builder name
// for this test; the caller creates the builder.
func buildxCLI(t testing.TB) *Buildx {
	t.Helper()
	b := &Buildx{t: t, ConfigDir: t.TempDir(), buildx: binPath(t, "buildx")}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	b.Builder = "dapp-e2e-" + hex.EncodeToString(rnd[:])
	if docker, err := exec.LookPath("docker"); err == nil && os.Getenv("DAPP_E2E_STANDALONE_BUILDX") != "1" {
		plugins := filepath.Join(b.ConfigDir, "cli-plugins")
		if err := os.MkdirAll(plugins, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(b.buildx, filepath.Join(plugins, "docker-buildx")); err != nil {
			t.Fatal(err)
		}
		b.docker = docker
	}
	return b
}

// Standalone reports whether buildx runs without the docker CLI.
func (b *Buildx) Standalone() bool { return b.docker == "" }

// Run runs a buildx subcommand (`docker buildx ARGS…` or `buildx ARGS…`).
func (b *Buildx) Run(args ...string) CmdResult {
	b.t.Helper()
	envv := cleanEnv(
		"DOCKER_CONFIG="+b.ConfigDir,
		"BUILDX_CONFIG="+filepath.Join(b.ConfigDir, "buildx"),
		// no engine here: keep the CLI from looking for one
		"DOCKER_HOST=unix://"+filepath.Join(b.ConfigDir, "no-docker-engine.sock"),
	)
	if b.docker != "" {
		return runCmd(b.t, envv, b.docker, append([]string{"buildx"}, args...)...)
	}
	return runCmd(b.t, envv, b.buildx, args...)
}

// Build runs `buildx build --builder B --progress plain ARGS…`.
func (b *Buildx) Build(args ...string) CmdResult {
	b.t.Helper()
	return b.Run(append([]string{"build", "--builder", b.Builder, "--progress", "plain"}, args...)...)
}

// BuildOCI runs `buildx build … --output type=oci,dest=<tmp> ARGS…` (ARGS end
// with the context) and reads the result. It fails the test on error.
func (b *Buildx) BuildOCI(args ...string) (*OCILayout, CmdResult) {
	b.t.Helper()
	dest := filepath.Join(b.t.TempDir(), "buildx.oci.tar")
	r := mustRun(b.t, b.Build(append([]string{"--output", "type=oci,dest=" + dest}, args...)...))
	layout, err := readOCITar(dest)
	if err != nil {
		b.t.Fatalf("read buildx OCI output: %v", err)
	}
	return layout, r
}

// buildctlOCI runs `buildctl build ARGS… --output type=oci,dest=<tmp>` and
// reads the result. It fails the test on error.
func buildctlOCI(t testing.TB, args ...string) (*OCILayout, CmdResult) {
	t.Helper()
	return buildctlOCIWith(t, "", args...)
}

// buildctlOCIWith is buildctlOCI with more attributes of the OCI output
// (",rewrite-timestamp=true").
func buildctlOCIWith(t testing.TB, outputAttrs string, args ...string) (*OCILayout, CmdResult) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "buildctl.oci.tar")
	r := mustRun(t, buildctl(t, append(append([]string{"build", "--progress", "plain"}, args...), "--output", "type=oci,dest="+dest+outputAttrs)...))
	layout, err := readOCITar(dest)
	if err != nil {
		t.Fatalf("read buildctl OCI output: %v", err)
	}
	return layout, r
}
