//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/tonistiigi/fsutil"
)

// Env is the end-to-end environment a test runs against.
type Env struct {
	BuildkitHost string // BUILDKIT_HOST
	Registry     string // DAPP_E2E_REGISTRY, host:port
	BinDir       string // DAPP_E2E_BIN_DIR, may be empty
	// ToolchainImage is DAPP_E2E_TOOLCHAIN_IMAGE (REF@DIGEST): the
	// toolchain `hack/e2e-env.sh toolchain-image` pushed.
	ToolchainImage string
	// ShellToolchainImage is DAPP_E2E_SHELL_TOOLCHAIN_IMAGE (REF@DIGEST):
	// the shell toolchain (toolchain/shell.sh) pushed beside it.
	ShellToolchainImage string
}

// Image returns the reference of an image in the test registry, e.g.
// e.Image("busybox:latest").
func (e Env) Image(nameTag string) string { return e.Registry + "/" + nameTag }

// FrontendImage is the frontend image `make image` pushed to the test registry.
func (e Env) FrontendImage() string { return e.Image("dapp-frontend:dev") }

// BaseImageContexts are frontend options that redirect the base images a
// Dappfile or Dockerfile names (`from: busybox:latest`, `debian:bookworm`) to
// the copies in the test registry, as named contexts (dockerui's
// `context:NAME=docker-image://REF`, what `--build-context` sends). There is no
// Docker Hub here. debian:bookworm is pushed with E2E_IMAGES=debian (the Makefile default).
//
// The key is dockerui's normalized name: the familiar name with ":latest"
// trimmed ("context:busybox", not "context:busybox:latest", which dockerui
// never looks up; see dockerui.Client.NamedContext).
func (e Env) BaseImageContexts() map[string]string {
	return map[string]string{
		"context:busybox":         "docker-image://" + e.Image("busybox:latest"),
		"context:debian:bookworm": "docker-image://" + e.Image("debian:bookworm"),
		"toolchain-image":         e.ToolchainImage,
		"shell-toolchain-image":   e.ShellToolchainImage,
	}
}

// env reads the environment. With DAPP_E2E_REQUIRED=1 (set by the Makefile) a
// missing variable fails the test; otherwise the test is skipped.
func env(t testing.TB) Env {
	t.Helper()
	e := Env{
		BuildkitHost: os.Getenv("BUILDKIT_HOST"),
		Registry:     os.Getenv("DAPP_E2E_REGISTRY"),
		BinDir:       os.Getenv("DAPP_E2E_BIN_DIR"),

		ToolchainImage:      os.Getenv("DAPP_E2E_TOOLCHAIN_IMAGE"),
		ShellToolchainImage: os.Getenv("DAPP_E2E_SHELL_TOOLCHAIN_IMAGE"),
	}
	var missing []string
	if e.BuildkitHost == "" {
		missing = append(missing, "BUILDKIT_HOST")
	}
	if e.Registry == "" {
		missing = append(missing, "DAPP_E2E_REGISTRY")
	}
	if e.ToolchainImage == "" {
		missing = append(missing, "DAPP_E2E_TOOLCHAIN_IMAGE")
	}
	if e.ShellToolchainImage == "" {
		missing = append(missing, "DAPP_E2E_SHELL_TOOLCHAIN_IMAGE")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("e2e environment not set (%s): run `make e2e`, or `hack/e2e-env.sh up DIR && set -a && . DIR/env`",
			strings.Join(missing, ", "))
		if os.Getenv("DAPP_E2E_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return e
}

// testContext is the test's context, bounded so that a hung build fails the
// test with a stack of useful output instead of the whole binary timing out.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx := t.Context()
	d := 15 * time.Minute
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok {
			if left := time.Until(dl) - 30*time.Second; left > 0 && left < d {
				d = left
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return ctx
}

// newClient connects to BUILDKIT_HOST and checks that the daemon answers.
func newClient(t testing.TB) *client.Client {
	t.Helper()
	e := env(t)
	ctx := testContext(t)
	c, err := client.New(ctx, e.BuildkitHost)
	if err != nil {
		t.Fatalf("connect to buildkitd at %s: %v", e.BuildkitHost, err)
	}
	t.Cleanup(func() { c.Close() })
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(pingCtx); err != nil {
		t.Fatalf("buildkitd at %s does not answer: %v", e.BuildkitHost, err)
	}
	return c
}

// solve runs one build and waits for it. Without build it is a plain
// client.Solve driven by opt.Frontend/opt.FrontendAttrs (for example
// "dockerfile.v0", or "gateway.v0" with FrontendAttrs["source"] = an image);
// with build it is client.Build running build in process (e.g. frontend.Build).
// Progress is collected whatever the outcome; on failure it is logged.
func solve(t testing.TB, c *client.Client, opt client.SolveOpt, build gwclient.BuildFunc) (*client.SolveResponse, *Progress, error) {
	t.Helper()
	ctx := testContext(t)
	prog := newProgress()
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		prog.consume(ch)
	}()
	var (
		resp *client.SolveResponse
		err  error
	)
	if build != nil {
		resp, err = c.Build(ctx, opt, "dapp-frontend-e2e", build, ch)
	} else {
		resp, err = c.Solve(ctx, nil, opt, ch)
	}
	<-done
	if err != nil {
		t.Logf("build failed; progress:\n%s", prog.Dump())
	}
	return resp, prog, err
}

// mustSolve is solve that fails the test on a build error.
func mustSolve(t testing.TB, c *client.Client, opt client.SolveOpt, build gwclient.BuildFunc) (*client.SolveResponse, *Progress) {
	t.Helper()
	resp, prog, err := solve(t, c, opt, build)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return resp, prog
}

// solveOCI builds and exports the result as an OCI layout tarball into
// t.TempDir(), then reads it. Attributes of an "oci" entry already in
// opt.Exports (e.g. "compression") are kept; other exports are left as they are.
func solveOCI(t testing.TB, c *client.Client, opt client.SolveOpt, build gwclient.BuildFunc) (*OCIImage, *Progress) {
	t.Helper()
	layout, prog := solveOCILayout(t, c, opt, build)
	return layout.Image(t, ""), prog
}

// solveOCILayout is solveOCI for results that hold several images (one per
// platform): the caller picks with layout.Image(t, "linux/arm64") or Images().
func solveOCILayout(t testing.TB, c *client.Client, opt client.SolveOpt, build gwclient.BuildFunc) (*OCILayout, *Progress) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "image.oci.tar")
	opt = withOCIExport(opt, dest)
	if _, prog, err := solve(t, c, opt, build); err != nil {
		t.Fatalf("build: %v", err)
	} else {
		layout, err := readOCITar(dest)
		if err != nil {
			t.Fatalf("read exported OCI layout: %v", err)
		}
		return layout, prog
	}
	return nil, nil
}

// withOCIExport returns a copy of opt whose exports write an OCI tarball to dest.
func withOCIExport(opt client.SolveOpt, dest string) client.SolveOpt {
	attrs := map[string]string{}
	var exports []client.ExportEntry
	for _, e := range opt.Exports {
		if e.Type == client.ExporterOCI && e.Output == nil {
			maps.Copy(attrs, e.Attrs)
			continue
		}
		exports = append(exports, e)
	}
	out := client.ExportEntry{
		Type:  client.ExporterOCI,
		Attrs: attrs,
		Output: func(map[string]string) (io.WriteCloser, error) {
			return os.Create(dest)
		},
	}
	opt.Exports = append(exports, out)
	return opt
}

// localMounts turns name → directory into the LocalMounts of a SolveOpt
// ("context", "dockerfile", or any named local).
func localMounts(t testing.TB, dirs map[string]string) map[string]fsutil.FS {
	t.Helper()
	m := make(map[string]fsutil.FS, len(dirs))
	for name, dir := range dirs {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatalf("local %s=%s: %v", name, dir, err)
		}
		m[name] = fs
	}
	return m
}

// dockerfileOpt is a SolveOpt for the builtin Dockerfile frontend with dir as
// both the context and the dockerfile local. attrs become frontend options
// ("target", "build-arg:X", "filename", …).
func dockerfileOpt(t testing.TB, dir string, attrs map[string]string) client.SolveOpt {
	t.Helper()
	fa := map[string]string{}
	maps.Copy(fa, attrs)
	return client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: fa,
		LocalMounts:   localMounts(t, map[string]string{"context": dir, "dockerfile": dir}),
	}
}

// frontendOpt is a SolveOpt that runs the frontend image pushed by `make image`
// (gateway.v0 with source=<registry>/dapp-frontend:dev) on dir as context and
// dockerfile local. attrs become frontend options.
func frontendOpt(t testing.TB, dir string, attrs map[string]string) client.SolveOpt {
	t.Helper()
	e := env(t)
	fa := map[string]string{"source": e.FrontendImage(), "toolchain-image": e.ToolchainImage, "shell-toolchain-image": e.ShellToolchainImage}
	maps.Copy(fa, attrs)
	return client.SolveOpt{
		Frontend:      "gateway.v0",
		FrontendAttrs: fa,
		LocalMounts:   localMounts(t, map[string]string{"context": dir, "dockerfile": dir}),
	}
}

// writeTree writes files (slash paths relative to a new temp dir → content)
// and returns the directory. A path ending in "/" creates a directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
