//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"testing"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func nonce(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// smokeDockerfile: a RUN that writes /hi and deletes a file of the base image
// (so the last layer carries a whiteout), plus two independent stages that
// sleep, to see them run in parallel.
func smokeDockerfile(registry string) string {
	return fmt.Sprintf(`FROM %[1]s/busybox:latest AS base
ARG NONCE
RUN echo "$NONCE" >/dev/null && echo hi > /hi && rm /etc/group

FROM %[1]s/busybox:latest AS left
ARG NONCE
RUN echo "left $NONCE" && sleep 1 && echo left > /left

FROM %[1]s/busybox:latest AS right
ARG NONCE
RUN echo "right $NONCE" && sleep 1 && echo right > /right

FROM base
COPY --from=left /left /left
COPY --from=right /right /right
USER app
CMD ["cat", "/hi"]
`, registry)
}

func checkSmokeImage(t *testing.T, img *OCIImage) {
	t.Helper()
	hi := img.File(t, "/hi")
	if string(hi.Content) != "hi\n" || !hi.IsRegular() || hi.Mode.Perm() != 0o644 || hi.UID != 0 || hi.GID != 0 {
		t.Errorf("/hi = %q mode %v uid %d gid %d, want \"hi\\n\" -rw-r--r-- 0:0", hi.Content, hi.Mode, hi.UID, hi.GID)
	}
	for _, p := range []string{"/left", "/right"} {
		if f := img.File(t, p); strings.TrimSpace(string(f.Content)) != strings.TrimPrefix(p, "/") {
			t.Errorf("%s = %q", p, f.Content)
		}
	}
	if img.Exists(t, "/etc/group") {
		t.Errorf("/etc/group was deleted by a RUN but is in the flattened rootfs")
	}
	if sh := img.File(t, "/bin/sh"); !sh.IsSymlink() || sh.Linkname != "/bin/busybox" {
		t.Errorf("/bin/sh: mode %v target %q, want a symlink to /bin/busybox", sh.Mode, sh.Linkname)
	}
	if pw := img.File(t, "/etc/passwd"); !strings.Contains(string(pw.Content), "app:x:1000:1000:") {
		t.Errorf("/etc/passwd has no app user:\n%s", pw.Content)
	}
	if tmp := img.File(t, "/tmp"); !tmp.IsDir() || tmp.Mode&fs.ModeSticky == 0 || tmp.Mode.Perm() != 0o777 {
		t.Errorf("/tmp mode %v, want drwxrwxrwt", tmp.Mode)
	}
	if home := img.File(t, "/home/app"); home.UID != 1000 || home.GID != 1000 {
		t.Errorf("/home/app owned by %d:%d, want 1000:1000", home.UID, home.GID)
	}

	// the RUN layer holds /hi and the whiteout of /etc/group, nothing of busybox
	var runLayer *Layer
	for i := range img.Layers {
		if slices.Contains(img.Layers[i].Paths(), "/hi") {
			runLayer = &img.Layers[i]
		}
	}
	if runLayer == nil {
		t.Fatalf("no layer adds /hi; layers: %v", img.LayerSizes())
	}
	var got []string
	for _, e := range runLayer.Entries {
		if !e.IsDir() {
			got = append(got, e.Path)
		}
	}
	slices.Sort(got)
	if want := []string{"/etc/.wh.group", "/hi"}; !slices.Equal(got, want) {
		t.Errorf("RUN layer files %v, want %v", got, want)
	}
	if runLayer.UncompressedSize > 16<<10 {
		t.Errorf("RUN layer is %d bytes uncompressed, want a few KB", runLayer.UncompressedSize)
	}

	cfg := img.Config
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"cat", "/hi"}) {
		t.Errorf("Cmd %q", cfg.Config.Cmd)
	}
	if cfg.Config.User != "app" {
		t.Errorf("User %q, want app", cfg.Config.User)
	}
	if !slices.ContainsFunc(cfg.Config.Env, func(s string) bool { return strings.HasPrefix(s, "PATH=") }) {
		t.Errorf("Env has no PATH: %q", cfg.Config.Env)
	}
	if len(cfg.RootFS.DiffIDs) != len(img.Layers) || len(img.Layers) < 4 {
		t.Errorf("%d diff ids, %d layers", len(cfg.RootFS.DiffIDs), len(img.Layers))
	}
}

// TestSmokeInProcess builds with the builtin Dockerfile frontend through
// client.Solve, then the same through a gateway BuildFunc run in process (the
// way frontend.Build is tested), and checks the image, the progress (ran, then
// cached; parallel stages overlapped) and the OCI reader.
func TestSmokeInProcess(t *testing.T) {
	e := env(t)
	c := newClient(t)
	dir := writeTree(t, map[string]string{"Dockerfile": smokeDockerfile(e.Registry)})
	attrs := map[string]string{"build-arg:NONCE": nonce(t)}

	img, prog := solveOCI(t, c, dockerfileOpt(t, dir, attrs), nil)
	checkSmokeImage(t, img)

	run := prog.Vertex(t, "[base 2/2] RUN")
	if !run.Ran() {
		t.Errorf("first build: RUN vertex did not run: %+v", run)
	}
	left, right := prog.Vertex(t, "[left 2/2] RUN"), prog.Vertex(t, "[right 2/2] RUN")
	if !left.Ran() || !right.Ran() || !Overlapped(left, right) {
		t.Errorf("independent stages did not run in parallel:\n%s", prog.Dump())
	}
	if l := prog.Log(t, "[left 2/2] RUN"); !strings.Contains(l, "left ") {
		t.Errorf("left log %q", l)
	}

	// Same build through a BuildFunc that forwards to dockerfile.v0: every
	// vertex is a cache hit and the image is identical.
	forward := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		opts := gc.BuildOpts().Opts
		return gc.Solve(ctx, gwclient.SolveRequest{Frontend: "dockerfile.v0", FrontendOpt: opts})
	}
	opt := dockerfileOpt(t, dir, attrs)
	img2, prog2 := solveOCI(t, c, opt, forward)
	checkSmokeImage(t, img2)
	if !prog2.Cached(t, "[base 2/2] RUN") {
		t.Errorf("second build: RUN vertex was not cached:\n%s", prog2.Dump())
	}
	if prog2.Overlapped(t, "[left 2/2] RUN", "[right 2/2] RUN") {
		t.Errorf("cached vertices reported as overlapping")
	}
	if !slices.Equal(img.DiffIDs(), img2.DiffIDs()) {
		t.Errorf("rebuild changed layers: %v vs %v", img.DiffIDs(), img2.DiffIDs())
	}
}

// TestSmokeCLI builds the same Dockerfile with the buildctl CLI and with the
// buildx CLI (remote builder on BUILDKIT_HOST), both exporting OCI tarballs.
func TestSmokeCLI(t *testing.T) {
	e := env(t)
	dir := writeTree(t, map[string]string{"Dockerfile": smokeDockerfile(e.Registry)})
	n := nonce(t)

	t.Run("buildctl", func(t *testing.T) {
		layout, r := buildctlOCI(t, "--frontend", "dockerfile.v0",
			"--local", "context="+dir, "--local", "dockerfile="+dir,
			"--opt", "build-arg:NONCE="+n)
		checkSmokeImage(t, layout.Image(t, ""))
		if !strings.Contains(r.Stderr, "[base 2/2] RUN") {
			t.Errorf("buildctl progress has no RUN step:\n%s", tail(r.Stderr, 4000))
		}
	})

	t.Run("buildx", func(t *testing.T) {
		bx := newBuildx(t)
		t.Logf("buildx builder %s (standalone=%v)", bx.Builder, bx.Standalone())
		ls := mustRun(t, bx.Run("ls"))
		if !strings.Contains(ls.Stdout, bx.Builder) {
			t.Errorf("buildx ls does not list %s:\n%s", bx.Builder, ls.Stdout)
		}
		// with a provenance attestation the layout nests an index holding the
		// image and an attestation manifest, which the reader must skip
		layout, r := bx.BuildOCI("--provenance", "mode=min", "--build-arg", "NONCE="+n, dir)
		if len(layout.Index.Manifests) != 1 || layout.Index.Manifests[0].MediaType != ocispec.MediaTypeImageIndex {
			t.Errorf("expected index.json -> nested index, got %+v", layout.Index.Manifests)
		}
		checkSmokeImage(t, layout.Image(t, "linux/"+runtime.GOARCH))
		if !strings.Contains(r.Stderr, "CACHED") {
			t.Logf("buildx output (expected cache hits after the buildctl run):\n%s", tail(r.Stderr, 4000))
		}
	})
}
