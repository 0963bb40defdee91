//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// buildkitd is a daemon of the test's own: its own state and socket,
// sharing nothing with the stack's but the registry (a second CI runner,
// or a node of a buildx builder).
type buildkitd struct {
	addr string
	c    *client.Client
}

// startBuildkitd starts buildkitd with a temporary root and the given
// extra flags, and stops it, by its pid, when the test ends.
func startBuildkitd(t testing.TB, args ...string) *buildkitd {
	t.Helper()
	return startBuildkitdFor(t, env(t).Registry, args...)
}

// startBuildkitdFor is startBuildkitd trusting the plain HTTP registry at
// registry (host:port) instead of the stack's.
func startBuildkitdFor(t testing.TB, registry string, args ...string) *buildkitd {
	t.Helper()
	// unix socket paths are short: not below t.TempDir()
	dir, err := os.MkdirTemp("", "dapp-e2e-bkd.")
	require.NoError(t, err)
	cfg := fmt.Sprintf("[worker.oci]\n  enabled = true\n  gc = false\n[worker.containerd]\n  enabled = false\n[registry.%q]\n  http = true\n  insecure = true\n", registry)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte(cfg), 0o644))
	logf, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	require.NoError(t, err)
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	cmd := exec.Command(binPath(t, "buildkitd"), append([]string{"--config", filepath.Join(dir, "buildkitd.toml"),
		"--oci-worker=true", "--containerd-worker=false", "--root", filepath.Join(dir, "root"), "--addr", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			if dt, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("buildkitd %v log:\n%s", args, tail(string(dt), 4000))
			}
		}
		_ = os.RemoveAll(dir)
	})
	ctx := testContext(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			dt, _ := os.ReadFile(logf.Name())
			t.Fatalf("buildkitd %v exited: %v\n%s", args, err, tail(string(dt), 4000))
		default:
		}
		if c, err := client.New(ctx, addr); err == nil {
			pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = c.ListWorkers(pingCtx)
			cancel()
			if err == nil {
				t.Cleanup(func() { c.Close() })
				return &buildkitd{addr: addr, c: c}
			}
			c.Close()
		}
		require.True(t, time.Now().Before(deadline), "buildkitd %v does not answer on %s", args, addr)
		// polling the socket: buildkitd has no readiness signal
		time.Sleep(200 * time.Millisecond)
	}
}

// readRegistryImage reads an image (an index and its manifests, configs
// and layers) from the test registry over the registry API, as an OCI
// layout the image readers understand.
func readRegistryImage(t testing.TB, ref string) *OCILayout {
	t.Helper()
	host, rest, ok := strings.Cut(ref, "/")
	require.True(t, ok, "reference %s has no registry", ref)
	repo, tag, ok := strings.Cut(rest, ":")
	require.True(t, ok, "reference %s has no tag", ref)
	l := &OCILayout{blobs: map[digest.Digest][]byte{}}
	get := func(kind, what string, accept ...string) ([]byte, string) {
		req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, fmt.Sprintf("http://%s/v2/%s/%s/%s", host, repo, kind, what), nil)
		require.NoError(t, err)
		for _, a := range accept {
			req.Header.Add("Accept", a)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s %s: %s", kind, what, body)
		return body, resp.Header.Get("Content-Type")
	}
	manifestTypes := []string{ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest,
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"}
	var fetch func(what string, depth int) ocispec.Descriptor
	fetch = func(what string, depth int) ocispec.Descriptor {
		require.Less(t, depth, 4, "indexes nested too deep")
		body, mt := get("manifests", what, manifestTypes...)
		d := digest.FromBytes(body)
		l.blobs[d] = body
		var m struct {
			ocispec.Manifest
			Manifests []ocispec.Descriptor `json:"manifests"`
		}
		require.NoError(t, json.Unmarshal(body, &m))
		for _, sub := range m.Manifests {
			fetch(sub.Digest.String(), depth+1)
		}
		if m.Config.Digest != "" {
			for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
				blob, _ := get("blobs", b.Digest.String())
				require.Equal(t, b.Digest, digest.FromBytes(blob), "blob %s", b.Digest)
				l.blobs[b.Digest] = blob
			}
		}
		return ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(body))}
	}
	l.Index.Manifests = []ocispec.Descriptor{fetch(tag, 0)}
	return l
}
