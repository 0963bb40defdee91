//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/flant/dapp-frontend/frontend"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// Issue 12: `--platform linux/amd64,linux/arm64` gives one image index,
// each platform's image built from that platform's base and artifacts.

// platformDappfile runs `uname -m` in an artifact and in the image, so the
// result files say which machine each platform's steps ran on. Shell
// stages run with the image's /bin/sh: the e2e toolchain exists for the
// build machine's platform only.
const platformDappfile = `artifact: tool
from: busybox
shell:
  buildArtifact:
  - mkdir -p /out && uname -m > /out/artifact-arch
---
dimg: app
from: busybox
git:
- add: /src
  to: /app
import:
- artifact: tool
  add: /out
  to: /opt
  after: install
shell:
  install:
  - uname -m > /uname
docker:
  CMD: [cat, /uname]
`

// unameOf is what `uname -m` prints on each platform.
var unameOf = map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"}

// elfMachine is the e_machine of an ELF file: which CPU it is built for.
func elfMachine(t testing.TB, f File) string {
	t.Helper()
	require.GreaterOrEqual(t, len(f.Content), 20, "%s is no ELF file", f.Path)
	require.Equal(t, "\x7fELF", string(f.Content[:4]), "%s is no ELF file", f.Path)
	switch m := binary.LittleEndian.Uint16(f.Content[18:20]); m {
	case 62:
		return "linux/amd64"
	case 183:
		return "linux/arm64"
	default:
		return fmt.Sprintf("machine %d", m)
	}
}

// emulates reports whether the worker runs binaries of platform p, and if
// not, why: buildkitd lists the platforms it can run when it starts (the
// machine's own, and those qemu's binfmt handlers emulate).
func emulates(t testing.TB, c *client.Client, p string) (bool, string) {
	t.Helper()
	ws, err := c.ListWorkers(testContext(t))
	require.NoError(t, err)
	var all []string
	for _, w := range ws {
		for _, wp := range w.Platforms {
			if platforms.Format(platforms.Normalize(wp)) == p {
				return true, ""
			}
			all = append(all, platforms.Format(wp))
		}
	}
	why := fmt.Sprintf("buildkitd cannot run %s binaries (its platforms: %s): no binfmt handler emulates them; "+
		"install qemu-user-static and binfmt-support (hack/e2e-env.sh tools does) where the kernel lets binfmt_misc be mounted", p, strings.Join(all, ", "))
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/register"); err != nil {
		why += " (/proc/sys/fs/binfmt_misc is not mounted here)"
	}
	return false, why
}

// gitLayer is the layer of img that adds path.
func gitLayer(t testing.TB, img *OCIImage, path string) Layer {
	t.Helper()
	for _, l := range img.Layers {
		for _, e := range l.Entries {
			if e.Path == path {
				return l
			}
		}
	}
	t.Fatalf("no layer adds %s; layers: %v", path, img.LayerSizes())
	return Layer{}
}

// checkPlatformImages checks an index built from platformDappfile-like
// files: one image per platform, each with its platform in the config,
// built on its platform's busybox, and the same git layer in each.
func checkPlatformImages(t *testing.T, layout *OCILayout, want []string, ran bool) map[string]*OCIImage {
	t.Helper()
	imgs, err := layout.Images()
	require.NoError(t, err)
	require.Len(t, imgs, len(want), "one image per platform")
	out := map[string]*OCIImage{}
	var gitDigests []digest.Digest
	for _, p := range want {
		img := layout.Image(t, p)
		out[p] = img
		require.Equal(t, p, img.Config.OS+"/"+img.Config.Architecture, "the config names its platform")
		require.Equal(t, p, elfMachine(t, img.File(t, "/bin/busybox")), "the %s image is built on the %s busybox", p, p)
		require.Equal(t, "hello\n", string(img.File(t, "/app/hello.txt").Content))
		gitDigests = append(gitDigests, gitLayer(t, img, "/app/hello.txt").Descriptor.Digest)
		if ran {
			require.Equal(t, unameOf[p], strings.TrimSpace(string(img.File(t, "/uname").Content)), "the %s image's RUN ran on %s", p, p)
			require.Equal(t, unameOf[p], strings.TrimSpace(string(img.File(t, "/opt/artifact-arch").Content)),
				"the artifact imported into the %s image was built for %s", p, p)
		}
	}
	for _, d := range gitDigests[1:] {
		require.Equal(t, gitDigests[0], d, "the git layer is the same on every platform")
	}
	return out
}

func platformRepo(t *testing.T) *gitRepo {
	r := newGitRepo(t)
	r.write("src/hello.txt", "hello\n", 0o644)
	r.commit("init")
	return r
}

// TestMultiPlatformEmulated builds for linux/amd64 and linux/arm64 on one
// buildkitd, through the frontend image with buildctl, as CI does: the
// arm64 steps run under qemu. It skips, saying why, where the machine
// cannot run arm64 binaries.
func TestMultiPlatformEmulated(t *testing.T) {
	t.Parallel()
	e := env(t)
	c := newClient(t)
	if ok, why := emulates(t, c, "linux/arm64"); !ok {
		t.Skip(why)
	}
	r := platformRepo(t)
	df := dappDir(t, platformDappfile)
	// with the README's CI output: layer file times clamped to the commit
	// time, so the same files make the same layer on every platform
	layout, res := buildctlOCIWith(t, ",rewrite-timestamp=true", "--frontend", "gateway.v0", "--opt", "source="+e.FrontendImage(),
		"--local", "context="+r.dir, "--local", "dockerfile="+df, "--opt", "filename=Dappfile",
		"--opt", "context:busybox=docker-image://"+e.Image("busybox:latest"),
		"--opt", "shell=image", "--opt", "platform=linux/amd64,linux/arm64")
	imgs := checkPlatformImages(t, layout, []string{"linux/amd64", "linux/arm64"}, true)
	require.Equal(t, []string{"cat", "/uname"}, imgs["linux/arm64"].Config.Config.Cmd)
	// each platform's steps are named for it
	require.Contains(t, res.Stderr, "[linux/arm64 app] install: uname -m > /uname")
	require.Contains(t, res.Stderr, "[linux/amd64 tool] import → app (after install)")
}

// TestMultiPlatformSingleBaseWarns: a base image for one platform only is
// served for any platform asked; the build says so at `from:`.
func TestMultiPlatformSingleBaseWarns(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := platformRepo(t)
	df := dappDir(t, "dimg: app\nfrom: debian:bookworm\ngit:\n- add: /src\n  to: /app\n")
	img, prog := solveOCI(t, c, gitSolveOpt(t, r.dir, df, map[string]string{"platform": "linux/arm64"}), frontend.Build)
	require.Equal(t, "linux/arm64", img.Config.OS+"/"+img.Config.Architecture, "the config names the target platform")
	require.True(t, slices.ContainsFunc(prog.Warnings(), func(w string) bool {
		return strings.Contains(w, "base image debian:bookworm is for linux/amd64, not for the target platform linux/arm64")
	}), "warnings: %v", prog.Warnings())
}

// nodeDappfile runs no binary: a node that claims a platform it cannot
// execute (arm64 on an amd64 machine without qemu) builds it all the
// same, so this part runs on any machine. The artifact and the image take
// git files and the base image of their platform.
const nodeDappfile = `artifact: assets
from: busybox
git:
- add: /src
  to: /assets
---
dimg: app
from: busybox
git:
- add: /src
  to: /app
import:
- artifact: assets
  add: /assets
  to: /srv
  after: install
docker:
  ENV: {APP: nodes}
  CMD: [cat, /app/hello.txt]
`

// TestBuildxNodePerPlatform: a buildx builder of two buildkitd nodes, one
// claiming linux/amd64 and the other linux/arm64 (--oci-worker-platform),
// builds one Dappfile for both platforms; each node builds its platform
// (its build history says so), and buildx pushes one index.
func TestBuildxNodePerPlatform(t *testing.T) {
	t.Parallel()
	e := env(t)
	nodes := map[string]*buildkitd{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		nodes[p] = startBuildkitd(t, "--oci-worker-platform", p)
	}
	bx := newBuildxNodes(t,
		[2]string{nodes["linux/amd64"].addr, "linux/amd64"},
		[2]string{nodes["linux/arm64"].addr, "linux/arm64"})
	r := platformRepo(t)
	df := dappDir(t, "# syntax="+e.FrontendImage()+"\n"+nodeDappfile)
	ref := e.Image("dapp-e2e-nodes:" + gitNonce())
	res := mustRun(t, bx.Build("--platform", "linux/amd64,linux/arm64",
		"--build-context", "busybox=docker-image://"+e.Image("busybox:latest"),
		"-f", df+"/Dappfile",
		"--output", "type=image,name="+ref+",push=true,registry.insecure=true,rewrite-timestamp=true",
		r.dir))
	layout := readRegistryImage(t, ref)
	imgs := checkPlatformImages(t, layout, []string{"linux/amd64", "linux/arm64"}, false)
	for p, img := range imgs {
		require.Equal(t, "hello\n", string(img.File(t, "/srv/hello.txt").Content), "%s: the artifact's files", p)
		require.Contains(t, img.Config.Config.Env, "APP=nodes")
	}
	// buildx shows both nodes' steps in one progress, each named for its
	// platform
	require.Contains(t, res.Stderr, "[linux/amd64 app] gitArchive")
	require.Contains(t, res.Stderr, "[linux/arm64 assets] import → app (after install)")
	for p, n := range nodes {
		built := n.builtPlatforms(t)
		require.Equal(t, []string{p}, built, "the %s node builds %s only (buildx: %s)", p, p, tail(res.Stderr, 2000))
	}
}

// builtPlatforms are the platforms the node built, from its build history
// (buildx sends each node the platforms it gives it).
func (n *buildkitd) builtPlatforms(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	stream, err := n.c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	require.NoError(t, err)
	seen := map[string]bool{}
	var out []string
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if ev.Record == nil {
			continue
		}
		for _, p := range strings.Split(ev.Record.FrontendAttrs["platform"], ",") {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
