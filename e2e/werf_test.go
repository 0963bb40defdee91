//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWerfBuildx builds examples/werf through `docker buildx build -f
// werf.yaml` with its `# syntax=` line: a meta document, `.werf`
// templates, two stapel images (app imports from tools as it was after
// install, and as it is at the end, and a file of the Dockerfile image, in
// the same solve) and a `dockerfile:` image, each built
// by --target. The Dockerfile's FROM busybox takes the same named context
// as the stapel images' `from:`.
func TestWerfBuildx(t *testing.T) {
	t.Parallel()
	e := env(t)
	bx := newBuildx(t)
	dir := withSyntaxLineIn(t, example("werf"), "werf.yaml", e.FrontendImage())
	build := func(target string, args ...string) *OCIImage {
		args = append([]string{"-f", filepath.Join(dir, "werf.yaml"), "--target", target,
			"--build-arg", "DAPP_TOOLCHAIN_IMAGE=" + e.ToolchainImage,
			"--build-context", "busybox=docker-image://" + e.Image("busybox:latest")}, args...)
		layout, _ := bx.BuildOCI(append(args, dir)...)
		return layout.Image(t, "")
	}

	app := build("app", "--build-arg", "WERF_ENV=production")
	requireFile(t, app, "/app/from-install.txt", 0o644, 0, "as after install\n")
	requireFile(t, app, "/app/from-final.txt", 0o644, 0, "as after setup\n")
	requireFile(t, app, "/app/app.txt", 0o644, 0, "app\n")
	requireFile(t, app, "/app/greeting.txt", 0o644, 0, "hello from werf.yaml\n")
	require.Contains(t, app.Config.Config.Env, "APP_ENV=production", ".Env reads WERF_ENV in a .werf template")
	require.Equal(t, "/app", app.Config.Config.WorkingDir)
	require.False(t, app.Exists(t, "/stage.txt"), "only the imported files leave tools")

	web := build("web")
	requireFile(t, web, "/greeting.txt", 0o644, 0, "hello from werf.yaml\n")
	require.Equal(t, []string{"cat", "/greeting.txt"}, web.Config.Config.Cmd)

	tools := build("tools")
	requireFile(t, tools, "/stage.txt", 0o644, 0, "as after setup\n")

	// A failing Dockerfile step points at the Dockerfile's line.
	broken := writeTree(t, map[string]string{
		"werf.yaml":  "# syntax=" + e.FrontendImage() + "\nproject: p\nconfigVersion: 1\n---\nimage: web\ndockerfile: Dockerfile\n",
		"Dockerfile": "FROM busybox\nRUN echo about to fail && false\n",
	})
	r := bx.Build("-f", filepath.Join(broken, "werf.yaml"), "--build-context", "busybox=docker-image://"+e.Image("busybox:latest"), broken)
	require.Error(t, r.Err)
	require.Contains(t, r.Stderr, "Dockerfile:2", "buildx names the Dockerfile's line:\n%s", r.Stderr)
	require.Contains(t, r.Stderr, ">>> RUN echo about to fail && false", "buildx prints the Dockerfile's line:\n%s", r.Stderr)
}
