//go:build e2e

package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/stretchr/testify/require"
)

// TestFailingStepNamesImageStageCommands: the error of a failing command
// says which image and stage ran it, which commands the stage has and
// where they are in the Dappfile, in process and through buildctl.
func TestFailingStepNamesImageStageCommands(t *testing.T) {
	t.Parallel()
	e := env(t)
	df := "dimg: app\nfrom: busybox:latest\nshell:\n  beforeInstall: [echo ok]\n  install:\n  - echo start\n  - exit 3\n---\ndimg: other\nfrom: busybox:latest\n"
	dir := writeTree(t, map[string]string{"Dappfile": df})
	_, _, err := solve(t, newClient(t), inProcessOpt(t, dir, map[string]string{"target": "app"}), frontend.Build)
	require.Error(t, err)
	require.ErrorContains(t, err, "[app] install: echo start && exit 3: ")
	require.ErrorContains(t, err, "exit code: 3")
	var lines []int32
	for _, s := range errdefs.Sources(err) {
		require.Equal(t, "Dappfile", s.Info.Filename)
		lines = append(lines, s.Ranges[0].Start.Line)
	}
	require.Contains(t, lines, int32(6), "the error points at the stage's commands: %v", err)

	r := buildctl(t, "build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(), "--opt", "toolchain-image="+e.ToolchainImage,
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--opt", "target=app",
		"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"))
	require.Error(t, r.Err)
	require.Contains(t, r.Stderr, "[app] install: echo start && exit 3: process", "buildctl's error names the step:\n%s", tail(r.Stderr, 4000))
	require.Contains(t, r.Stderr, "Dappfile:6", "buildctl prints the lines:\n%s", tail(r.Stderr, 4000))
}

// TestBaseImageRefused: a base image the registry does not have, a
// registry that wants credentials and one that fails each give an error
// naming the image, what the registry said, and the `from:` line.
func TestBaseImageRefused(t *testing.T) {
	t.Parallel()
	e := env(t)
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="dapp-e2e"`)
			}
			http.Error(w, http.StatusText(code), code)
		}))
		t.Cleanup(srv.Close)
		// BuildKit speaks plain http to loopback registries.
		_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
		require.NoError(t, err)
		return "127.0.0.1:" + port
	}
	for _, tc := range []struct {
		name, ref string
		says      []string
	}{
		{"not found", e.Image("dapp-e2e-no-such-image:latest"), []string{"not found"}},
		{"unauthorized", status(http.StatusUnauthorized) + "/app:1", []string{"401 Unauthorized"}},
		{"server error", status(http.StatusInternalServerError) + "/app:1", []string{"500 Internal Server Error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: " + tc.ref + "\nshell:\n  install: [true]\n"})
			_, _, err := solve(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
			require.Error(t, err)
			require.ErrorContains(t, err, "Dappfile:2:7: failed to resolve base image \""+tc.ref+"\"")
			for _, s := range tc.says {
				require.ErrorContains(t, err, s)
			}
			srcs := errdefs.Sources(err)
			require.NotEmpty(t, srcs, "source-mapped: %v", err)
			require.Equal(t, int32(2), srcs[0].Ranges[0].Start.Line)
		})
	}
}

// TestConcurrentBuildsSameDigest: eight builds of one Dappfile at once on
// one daemon all succeed and give the same image.
func TestConcurrentBuildsSameDigest(t *testing.T) {
	t.Parallel()
	df := "dimg: app\nfrom: busybox:latest\nshell:\n  install:\n  - echo " + gitNonce() + " > /stamp\n  setup: [mkdir -p /app, echo built > /app/done]\ndocker:\n  CMD: [cat, /app/done]\n"
	dir := writeTree(t, map[string]string{"Dappfile": df})
	c := newClient(t)
	const n = 8
	digests := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dest := filepath.Join(t.TempDir(), "image.oci.tar")
		opt := withOCIExport(inProcessOpt(t, dir, nil), dest)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// no require here: only the test goroutine may stop the test
			if _, _, errs[i] = solve(t, c, opt, frontend.Build); errs[i] != nil {
				return
			}
			layout, err := readOCITar(dest)
			if errs[i] = err; err == nil && len(layout.Index.Manifests) > 0 {
				digests[i] = layout.Index.Manifests[0].Digest.String()
			}
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "build %d", i)
		require.NotEmpty(t, digests[i], "build %d", i)
		require.Equal(t, digests[0], digests[i], "build %d gave another image", i)
	}
}

// cutProxy forwards a unix socket to buildkitd until cut, when it drops
// every connection at once: to the client it looks as if the daemon went
// away in the middle of a build.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	sock := filepath.Join(t.TempDir(), "buildkitd.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	p := &cutProxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) addr() string { return "unix://" + p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDaemonGoneMidBuild: when the connection to buildkitd drops while a
// step runs, the build ends at once with an error that says the daemon
// connection was lost, not a build or registry failure.
func TestDaemonGoneMidBuild(t *testing.T) {
	t.Parallel()
	e := env(t)
	require.True(t, strings.HasPrefix(e.BuildkitHost, "unix://"), "BUILDKIT_HOST %s", e.BuildkitHost)
	proxy := newCutProxy(t, strings.TrimPrefix(e.BuildkitHost, "unix://"))
	ctx := testContext(t)
	c, err := client.New(ctx, proxy.addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })

	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nshell:\n  install: [echo " + gitNonce() + ", sleep 120]\n"})
	ch := make(chan *client.SolveStatus)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Build(ctx, inProcessOpt(t, dir, nil), "dapp-frontend-e2e", frontend.Build, ch)
		done <- err
	}()
	// Cut once the long step has started (progress says so), then drain.
	cut := false
	for st := range ch {
		for _, v := range st.Vertexes {
			if !cut && v.Started != nil && strings.HasPrefix(v.Name, "[app] install") {
				proxy.cut()
				cut = true
			}
		}
	}
	err = <-done
	require.True(t, cut, "the install step never started")
	require.Error(t, err)
	t.Logf("error after %.1fs: %v", time.Since(start).Seconds(), err)
	require.Less(t, time.Since(start), 90*time.Second, "the build did not wait for the step")
	require.Regexp(t, `Unavailable|connection|closing|EOF`, err.Error())
	require.NotContains(t, err.Error(), "failed to resolve base image")
}
