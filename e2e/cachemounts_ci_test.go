//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/flant/dapp-frontend/frontend"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/require"
)

// seedDappfile: apt installs a small package, and a build_dir records
// what the step found there. APT_VERSION is the stage's cacheVersion.
const seedDappfile = `
dimg: app
from: debian:bookworm
mount:
- from: build_dir
  to: /build
shell:
  beforeInstallCacheVersion: "{{ env "APT_VERSION" }}"
  beforeInstall:
  - echo "build_dir holds [$(cat /build/stamp 2>/dev/null || echo nothing)]"
  - echo "apt version {{ env "APT_VERSION" }}" >/build/stamp
  - apt-get update
  - apt-get install -y --no-install-recommends hello
`

// TestCacheMountsAcrossRunners: runner A (the stack's buildkitd) builds,
// then saves its cache mounts into the registry with --target
// dapp-cache-mounts (buildctl and the frontend image, the README's line).
// Runner B (a buildkitd of its own, nothing shared with A but the
// registry) builds with buildx, seeds its empty caches from that image and,
// after a cacheVersion bump, apt downloads no package and no list, and
// the build_dir holds what A wrote. Seeding changes no step's cache key:
// A's build seeded from its own save has the same definition and runs
// nothing.
//
// npm is left out to keep the test lean: it needs nodejs and npm
// installed by apt (46 MB) on both runners; TestAutoCacheAptNpm covers
// its cache mount, and the save and seed steps treat every cache alike.
func TestCacheMountsAcrossRunners(t *testing.T) {
	t.Parallel()
	e := env(t)
	a := newClient(t)
	dir := writeTree(t, map[string]string{"Dappfile": seedDappfile})
	run := nonce(t)
	saved := e.Image("e2e-cache-mounts:" + run)
	attrs := func(aptVersion string, extra ...string) map[string]string {
		m := map[string]string{
			// the caches of this test only: other tests share the stack
			// (the id is no part of a step's cache key, hence the run in
			// APT_VERSION too)
			"build-arg:BUILDKIT_CACHE_MOUNT_NS": "e2e-" + run,
			"build-arg:APT_VERSION":             run + "-" + aptVersion,
			"project":                           "seed",
			"git-helper-image":                  e.FrontendImage(),
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	seedContext := "context:dapp-cache-mounts"
	const step = "[app] beforeInstall"

	var defs definitions
	_, progA := mustSolve(t, a, inProcessOpt(t, dir, attrs("1")), defs.record(frontend.Build))
	logA := progA.Log(t, step)
	t.Logf("runner A:\n%s", aptSummary(logA))
	requireAptInstalled(t, logA)
	require.Regexp(t, `(?m)^Need to get [1-9][0-9.]* [kM]B of archives\.`, logA, "A starts with an empty apt cache")
	require.Contains(t, logA, "build_dir holds [nothing]")
	plainDef := defs.last(t)

	// the save as the README writes it for buildctl: the frontend image
	// runs its own binary (CurrentFrontend) for the copy
	args := []string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + e.FrontendImage(),
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--opt", "target=dapp-cache-mounts", "--output", "type=image,name=" + saved + ",push=true"}
	for k, v := range attrs("1") {
		if k != "git-helper-image" {
			args = append(args, "--opt", k+"="+v)
		}
	}
	for k, v := range baseContexts(e) {
		args = append(args, "--opt", k+"="+v)
	}
	saveLog := mustRun(t, buildctl(t, args...)).Stderr
	t.Logf("save:\n%s", tail(saveLog, 4000))
	require.Regexp(t, `save 3 cache mounts`, saveLog)
	require.Regexp(t, `(?m) cache e2e-`+run+`/dapp/auto/apt/cache: saved [0-9]+ bytes`, saveLog)
	require.Regexp(t, `(?m) cache e2e-`+run+`/dapp/auto/apt/lists: saved [0-9]+ bytes`, saveLog)
	require.Regexp(t, `(?m) cache e2e-`+run+`/dapp/project/seed/build_dir/build: saved [0-9]+ bytes`, saveLog)

	t.Run("seeding keeps the cache keys", func(t *testing.T) {
		// the same build on A, seeded from its own save: the definition is
		// the same byte for byte, every step is a cache hit, and the seed
		// keeps A's caches, which are not empty
		var defs definitions
		_, prog := mustSolve(t, a, inProcessOpt(t, dir, attrs("1", seedContext, "docker-image://"+saved)), defs.record(frontend.Build))
		require.Equal(t, plainDef, defs.last(t), "the build's definition does not depend on seeding")
		require.True(t, prog.Cached(t, step))
		seedLog := prog.Log(t, "[dapp] seed 3 cache mounts")
		require.Regexp(t, `(?m)^cache e2e-`+run+`/dapp/auto/apt/cache: already holds files, kept$`, seedLog)
	})

	t.Run("missing saved caches are a warning", func(t *testing.T) {
		_, prog := mustSolve(t, a, inProcessOpt(t, dir, attrs("1", seedContext, "docker-image://"+e.Image("e2e-cache-mounts:missing-"+run))), frontend.Build)
		require.True(t, prog.Cached(t, step))
		var found bool
		for _, w := range prog.Warnings() {
			found = found || strings.HasPrefix(w, "cache mounts not seeded from dapp-cache-mounts: ")
		}
		require.True(t, found, "warnings: %q", prog.Warnings())
	})

	t.Run("runner B downloads nothing", func(t *testing.T) {
		// the build as the README writes it for buildx: `# syntax=` and
		// --build-context, on a builder of its own
		bk := startBuildkitd(t)
		bx := buildxCLI(t)
		mustRun(t, bx.Run("create", "--name", bx.Builder, "--driver", "remote", bk.addr))
		dirB := writeTree(t, map[string]string{"Dappfile": "# syntax=" + e.FrontendImage() + "\n" + seedDappfile})
		r := mustRun(t, bx.Build("-f", filepath.Join(dirB, "Dappfile"),
			"--build-arg", "BUILDKIT_CACHE_MOUNT_NS=e2e-"+run, "--build-arg", "APT_VERSION="+run+"-2",
			"--build-arg", "DAPP_PROJECT=seed", "--build-arg", "DAPP_TOOLCHAIN_IMAGE="+e.ToolchainImage,
			"--build-context", "debian:bookworm=docker-image://"+e.Image("debian:bookworm"),
			"--build-context", "dapp-cache-mounts=docker-image://"+saved, dirB))
		log := plainLog(r.Stderr)
		t.Logf("runner B:\n%s", aptSummary(log))
		require.Regexp(t, `(?m)^cache e2e-`+run+`/dapp/auto/apt/cache: seeded [0-9]+ bytes`, log)
		require.Regexp(t, `(?m)^cache e2e-`+run+`/dapp/auto/apt/lists: seeded [0-9]+ bytes`, log)
		requireAptFromCache(t, log, "runner B")
		require.Contains(t, log, "build_dir holds [apt version "+run+"-1]", "B's build_dir starts with what A wrote")
	})
}

// plainLog is what the steps printed in a `--progress plain` output,
// without the "#N 1.23 " prefixes.
func plainLog(s string) string {
	return regexp.MustCompile(`(?m)^#[0-9]+ [0-9]+\.[0-9]+ `).ReplaceAllString(s, "")
}

// requireAptFromCache: an apt run that found every package in its cache
// and every package list too.
func requireAptFromCache(t *testing.T, log, name string) {
	t.Helper()
	requireAptInstalled(t, log)
	// "Need to get 0 B/46.6 MB of archives.": every package is in the cache
	require.Regexp(t, `(?m)^Need to get 0 B/[0-9.]+ [kM]B of archives\.`, log, name)
	// apt update may refetch the signed index (InRelease: a proxy that
	// ignores If-Modified-Since, as this machine's does, never lets apt
	// see a "Hit"), but the package lists come from the cache: no other Get.
	for _, l := range regexp.MustCompile(`(?m)^Get:.*$`).FindAllString(log, -1) {
		require.Regexp(t, `^Get:\d+ \S+ \S+ InRelease `, l, "%s downloaded more than the release file", name)
	}
}

// definitions records the definitions a BuildFunc solves, to compare
// builds without a daemon-side view of their cache keys.
type definitions struct {
	mu   sync.Mutex
	defs []*pb.Definition
}

func (d *definitions) record(build gwclient.BuildFunc) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		return build(ctx, recordingClient{Client: c, d: d})
	}
}

// last is the last definition solved: the build's own (the seed, when
// there is one, is solved before it).
func (d *definitions) last(t *testing.T) [][]byte {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	require.NotEmpty(t, d.defs)
	return d.defs[len(d.defs)-1].Def
}

type recordingClient struct {
	gwclient.Client
	d *definitions
}

func (c recordingClient) Solve(ctx context.Context, req gwclient.SolveRequest) (*gwclient.Result, error) {
	if req.Definition != nil {
		c.d.mu.Lock()
		c.d.defs = append(c.d.defs, req.Definition)
		c.d.mu.Unlock()
	}
	return c.Client.Solve(ctx, req)
}
