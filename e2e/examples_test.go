//go:build e2e

package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/stretchr/testify/require"
)

// The examples name public images (busybox:latest); the tests point those
// names at the test registry with named contexts, the same
// `--build-context NAME=docker-image://...` users have.
func baseContexts(e Env) map[string]string {
	return e.BaseImageContexts()
}

// inProcessOpt runs frontend.Build in the test process against dir.
func inProcessOpt(t *testing.T, dir string, attrs map[string]string) client.SolveOpt {
	fa := baseContexts(env(t))
	for k, v := range attrs {
		fa[k] = v
	}
	return client.SolveOpt{
		FrontendAttrs: fa,
		LocalMounts:   localMounts(t, map[string]string{"context": dir, "dockerfile": dir}),
	}
}

func example(name string) string { return filepath.Join("..", "examples", name) }

func requireFile(t *testing.T, img *OCIImage, p string, mode fs.FileMode, uid int, content string) {
	t.Helper()
	f := img.File(t, p)
	require.Equal(t, mode, f.Mode&fs.ModePerm, "%s mode", p)
	require.Equal(t, uid, f.UID, "%s owner", p)
	if content != "" {
		require.Equal(t, content, string(f.Content), "%s content", p)
	}
}

func checkBasic(t *testing.T, img *OCIImage) {
	requireFile(t, img, "/app/start", 0o755, 1000, "#!/bin/sh\necho hello from app\n")
	requireFile(t, img, "/app/install.txt", 0o644, 1000, "dependencies\n")
	require.True(t, img.Exists(t, "/app/before-install.txt"))
	require.True(t, img.Exists(t, "/app/before-setup.txt"))
	c := img.Config.Config
	require.Contains(t, c.Env, "APP_ENV=production")
	require.Contains(t, c.Env, "PORT=8080")
	require.Equal(t, []string{"/app/start"}, c.Entrypoint)
	require.Equal(t, []string{"--port", "8080"}, c.Cmd)
	require.Equal(t, "/app", c.WorkingDir)
	require.Equal(t, "app", c.User)
	require.Equal(t, map[string]struct{}{"8080/tcp": {}, "9090/udp": {}}, c.ExposedPorts)
	require.Equal(t, map[string]struct{}{"/var/log/app": {}}, c.Volumes)
	require.Equal(t, "basic example", c.Labels["org.opencontainers.image.title"])
	for _, e := range c.Env {
		require.False(t, strings.HasPrefix(e, "DAPP_CACHE_VERSION="), "cacheVersion must not reach the image")
	}
}

func TestExampleBasicInProcess(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	img, prog := solveOCI(t, c, inProcessOpt(t, example("basic"), nil), frontend.Build)
	checkBasic(t, img)
	for _, stage := range []string{"[app] beforeInstall", "[app] install", "[app] beforeSetup", "[app] setup"} {
		require.NotEmpty(t, prog.Find(stage), "progress shows %s", stage)
	}

	// A second identical build is fully cached.
	_, prog2 := solveOCI(t, c, inProcessOpt(t, example("basic"), nil), frontend.Build)
	for _, stage := range []string{"[app] beforeInstall", "[app] install", "[app] beforeSetup", "[app] setup"} {
		require.True(t, prog2.Cached(t, stage), "%s cached on the second build", stage)
	}
}

func TestExampleArtifactInProcess(t *testing.T) {
	t.Parallel()
	img, _ := solveOCI(t, newClient(t), inProcessOpt(t, example("artifact"), nil), frontend.Build)
	requireFile(t, img, "/usr/local/bin/hello", 0o755, 1000, "#!/bin/sh\necho built by the builder artifact\n")
	requireFile(t, img, "/usr/local/bin/data.txt", 0o644, 1000, "data file\n")
	require.False(t, img.Exists(t, "/usr/local/bin/tmp.log"), "excludePaths keeps *.log out")
	require.False(t, img.Exists(t, "/opt/toolchain"), "the artifact's build tools stay in the artifact")
	require.True(t, img.Exists(t, "/srv/install.txt"))
	require.Equal(t, []string{"/usr/local/bin/hello"}, img.Config.Config.Cmd)
}

func TestExampleMultiImageInProcess(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	img, _ := solveOCI(t, c, inProcessOpt(t, example("multi-image"), map[string]string{"target": "api"}), frontend.Build)
	require.Equal(t, "shared base\n", string(img.File(t, "/opt/base/README").Content))
	require.Equal(t, "api\n", string(img.File(t, "/opt/base/api.txt").Content))
	require.Contains(t, img.Config.Config.Env, "BASE=yes", "fromDimg inherits the base image's config")
	require.False(t, img.Exists(t, "/worker.txt"))

	_, _, err := solve(t, c, inProcessOpt(t, example("multi-image"), nil), frontend.Build)
	require.ErrorContains(t, err, "defines 3 images (base, api, worker): pick one with --target NAME")
}

func TestExampleTemplatesInProcess(t *testing.T) {
	t.Parallel()
	img, _ := solveOCI(t, newClient(t), inProcessOpt(t, example("templates"), map[string]string{"build-arg:GREETING": "hi there"}), frontend.Build)
	require.Equal(t, "from a shared template\n", string(img.File(t, "/app/template.txt").Content))
	require.Equal(t, "1.2.3\n", string(img.File(t, "/app/VERSION").Content))
	require.Equal(t, "hi there\n", string(img.File(t, "/app/greeting").Content))
	require.Equal(t, "1.2.3", img.Config.Config.Labels["version"])
}

// TestIndependentArtifactsRunConcurrently: two artifacts an image imports
// are separate subgraphs; BuildKit runs their steps at the same time.
// fromCacheVersion is new on every run, so that the steps run on a daemon
// that ran the test before rather than come from its cache.
func TestIndependentArtifactsRunConcurrently(t *testing.T) {
	t.Parallel()
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := writeTree(t, map[string]string{"Dappfile": `
artifact: one
from: busybox:latest
fromCacheVersion: "` + nonce + `"
shell:
  buildArtifact: [sleep 3, echo one > /one]
---
artifact: two
from: busybox:latest
fromCacheVersion: "` + nonce + `"
shell:
  buildArtifact: [sleep 3, echo two > /two]
---
dimg: app
from: busybox:latest
import:
- {artifact: one, add: /one, to: /one, after: setup}
- {artifact: two, add: /two, to: /two, after: setup}
`})
	img, prog := solveOCI(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
	require.Equal(t, "one\n", string(img.File(t, "/one").Content))
	require.Equal(t, "two\n", string(img.File(t, "/two").Content))
	require.True(t, prog.Overlapped(t, "[one] buildArtifact", "[two] buildArtifact"), "artifacts ran one after the other:\n%s", prog.Dump())
}

// TestBrokenDappfileShowsLine: a conversion error carries the Dappfile and
// the offending line, which buildx and buildctl print.
func TestBrokenDappfileShowsLine(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nshell:\n  instal: [make]\n"})
	_, _, err := solve(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
	require.Error(t, err)
	require.ErrorContains(t, err, "instal")
	require.ErrorContains(t, err, `did you mean "install"?`)
	srcs := errdefs.Sources(err)
	require.NotEmpty(t, srcs, "error carries its source: %v", err)
	require.Equal(t, "Dappfile", srcs[0].Info.Filename)
	require.Equal(t, int32(4), srcs[0].Ranges[0].Start.Line)
}

// TestFailingCommandPointsAtDappfile: a command that fails at solve time is
// reported with the Dappfile lines of its stage.
func TestFailingCommandPointsAtDappfile(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nshell:\n  install:\n  - echo start\n  - exit 3\n"})
	_, _, err := solve(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
	require.Error(t, err)
	require.ErrorContains(t, err, "exit code: 3")
	srcs := errdefs.Sources(err)
	require.NotEmpty(t, srcs, "solve error carries the Dappfile location: %v", err)
	require.Equal(t, int32(5), srcs[0].Ranges[0].Start.Line)
}

func TestExampleBasicBuildctl(t *testing.T) {
	t.Parallel()
	e := env(t)
	dir := example("basic")
	layout, _ := buildctlOCI(t, "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
		"--local", "context="+dir, "--local", "dockerfile="+dir,
		"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"))
	checkBasic(t, layout.Image(t, ""))
}

func TestBrokenDappfileBuildctl(t *testing.T) {
	t.Parallel()
	e := env(t)
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nimport:\n- artifact: nope\n  add: /x\n  after: install\n"})
	r := buildctl(t, "build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
		"--local", "context="+dir, "--local", "dockerfile="+dir)
	require.Error(t, r.Err)
	require.Contains(t, r.Stderr, "nope")
	require.Contains(t, r.Stderr, "Dappfile:4", "buildctl prints the Dappfile location:\n%s", r.Stderr)
}

// TestExamplesBuildx builds through `docker buildx build -f Dappfile` with a
// `# syntax=` line naming the frontend image: BuildKit's Dockerfile
// frontend forwards the build to ours.
func TestExamplesBuildx(t *testing.T) {
	t.Parallel()
	e := env(t)
	bx := newBuildx(t)
	dir := withSyntaxLine(t, example("basic"), e.FrontendImage())
	layout, _ := bx.BuildOCI("-f", filepath.Join(dir, "Dappfile"), "--build-arg", "DAPP_TOOLCHAIN_IMAGE="+e.ToolchainImage,
		"--build-context", "busybox=docker-image://"+e.Image("busybox:latest"), dir)
	checkBasic(t, layout.Image(t, ""))

	broken := writeTree(t, map[string]string{"Dappfile": "# syntax=" + e.FrontendImage() + "\ndimg: app\nfrom: busybox:latest\nfromDimg: other\n"})
	r := bx.Build("-f", filepath.Join(broken, "Dappfile"), broken)
	require.Error(t, r.Err)
	require.Contains(t, r.Stderr, "fromDimg", "buildx shows the offending key:\n%s", r.Stderr)
	require.Contains(t, r.Stderr, ">>>", "buildx prints the Dappfile lines:\n%s", r.Stderr)
}

// withSyntaxLine copies an example and points its Dappfile's `# syntax=`
// line at ref.
func withSyntaxLine(t *testing.T, src, ref string) string {
	t.Helper()
	return withSyntaxLineIn(t, src, "Dappfile", ref)
}

// withSyntaxLineIn copies an example and points the `# syntax=` line of
// its file name at ref.
func withSyntaxLineIn(t *testing.T, src, name, ref string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	p := filepath.Join(dst, name)
	dt, err := os.ReadFile(p)
	require.NoError(t, err)
	lines := strings.SplitN(string(dt), "\n", 2)
	require.True(t, strings.HasPrefix(lines[0], "# syntax="))
	require.NoError(t, os.WriteFile(p, []byte("# syntax="+ref+"\n"+lines[1]), 0o644))
	return dst
}

// TestSubrequestsBuildx: `--call targets` and `--call outline` reach the
// frontend's subrequest handlers through buildx and the `# syntax=` line.
func TestSubrequestsBuildx(t *testing.T) {
	t.Parallel()
	e := env(t)
	bx := newBuildx(t)
	dir := withSyntaxLine(t, example("multi-image"), e.FrontendImage())
	r := mustRun(t, bx.Build("--call", "targets", "-f", filepath.Join(dir, "Dappfile"), dir))
	out := r.Stdout
	t.Logf("targets:\n%s", out)
	for _, name := range []string{"base", "api", "worker"} {
		require.Contains(t, out, name, "targets list %s:\n%s", name, out)
	}
	require.Contains(t, out, "dimg from dimg base", "api's description names its base:\n%s", out)

	dir = withSyntaxLine(t, example("templates"), e.FrontendImage())
	r = mustRun(t, bx.Build("--call", "outline", "-f", filepath.Join(dir, "Dappfile"), "--build-arg", "GREETING=hi", dir))
	out = r.Stdout
	t.Logf("outline:\n%s", out)
	require.Contains(t, out, "GREETING", "outline lists the build arg the template reads:\n%s", out)
}
