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
// npm has a test of its own, TestNpmCacheAcrossRunners: it needs nodejs
// and npm, which B takes from A's registry layer cache.
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

// npmSeedDappfile: beforeInstall installs nodejs and npm (no nonce: a
// long-lived builder keeps it), install writes a lockfile of one small
// package and runs npm ci. NPM_VERSION is install's cacheVersion, NPM_ENV
// is put before npm ci.
const npmSeedDappfile = `
dimg: app
from: debian:bookworm
shell:
  beforeInstall:
  - apt-get update
  - apt-get install -y --no-install-recommends nodejs npm
  installCacheVersion: "{{ env "NPM_VERSION" }}"
  install:
  - mkdir -p /app && cd /app
  - echo '{"name":"seed","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}}' >package.json
  - |
    cat >package-lock.json <<'EOF'
    {"name": "seed", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
     "packages": {
      "": {"name": "seed", "version": "1.0.0", "dependencies": {"left-pad": "1.3.0"}},
      "node_modules/left-pad": {"version": "1.3.0",
       "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
       "integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA=="}}}
    EOF
  - {{ env "NPM_ENV" }} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm ci --no-audit --no-fund --loglevel http
`

// TestNpmCacheAcrossRunners: runner A (the stack's buildkitd) builds with
// buildx, exports its layer cache to the registry (mode=max) and saves its
// cache mounts with --target dapp-cache-mounts. Runner B, a buildkitd of
// its own, imports A's layer cache (nodejs and npm come from there: CI
// users export and import it anyway), seeds its empty caches from A's
// save and, after a cacheVersion bump of install, runs npm ci with the
// network forbidden (npm_config_offline=true): every request is answered
// from the seeded npm cache.
func TestNpmCacheAcrossRunners(t *testing.T) {
	t.Parallel()
	e := env(t)
	run := nonce(t)
	saved := e.Image("e2e-npm-cache-mounts:" + run)
	layers := e.Image("e2e-npm-cache-mounts:layers-" + run)
	dir := writeTree(t, map[string]string{"Dappfile": "# syntax=" + e.FrontendImage() + "\n" + npmSeedDappfile})
	ns := "e2e-" + run
	const step = "[app] install"
	build := func(bx *Buildx, npmVersion string, extra ...string) *plainProgress {
		t.Helper()
		args := append([]string{"-f", filepath.Join(dir, "Dappfile"),
			"--build-arg", "BUILDKIT_CACHE_MOUNT_NS=" + ns, "--build-arg", "NPM_VERSION=" + run + "-" + npmVersion,
			"--build-arg", "DAPP_PROJECT=seed", "--build-arg", "DAPP_TOOLCHAIN_IMAGE=" + e.ToolchainImage,
			"--build-context", "debian:bookworm=docker-image://" + e.Image("debian:bookworm")}, extra...)
		return parsePlain(mustRun(t, bx.Build(append(args, dir)...)).Stderr)
	}
	npmLog := func(p *plainProgress) string {
		t.Helper()
		for _, id := range p.order {
			if strings.HasPrefix(p.names[id], step) {
				// without the "1.23 " time of each line
				return regexp.MustCompile(`(?m)^[0-9]+\.[0-9]+ `).ReplaceAllString(strings.Join(p.lines[id], "\n"), "")
			}
		}
		t.Fatalf("no step %q in:\n%s", step, tail(p.Raw, 8000))
		return ""
	}

	progA := build(newBuildxOn(t, e.BuildkitHost), "1", "--build-arg", "NPM_ENV=",
		"--cache-to", "type=registry,ref="+layers+",mode=max")
	logA := npmLog(progA)
	t.Logf("runner A:\n%s", logA)
	require.Contains(t, logA, "added 1 package")
	require.Regexp(t, `(?m)^npm http fetch GET 200 \S+left-pad-1\.3\.0\.tgz .*\(cache miss\)$`, logA, "A starts with an empty npm cache")

	// the save as the README writes it for buildctl
	args := []string{"build", "--progress", "plain", "--frontend", "gateway.v0", "--opt", "source=" + e.FrontendImage(),
		"--local", "context=" + dir, "--local", "dockerfile=" + dir,
		"--opt", "target=dapp-cache-mounts", "--output", "type=image,name=" + saved + ",push=true",
		"--opt", "build-arg:BUILDKIT_CACHE_MOUNT_NS=" + ns, "--opt", "build-arg:NPM_VERSION=" + run + "-1",
		"--opt", "build-arg:NPM_ENV=", "--opt", "project=seed"}
	for k, v := range baseContexts(e) {
		args = append(args, "--opt", k+"="+v)
	}
	saveLog := mustRun(t, buildctl(t, args...)).Stderr
	t.Logf("save:\n%s", tail(saveLog, 4000))
	require.Regexp(t, `(?m) cache `+ns+`/dapp/auto/npm: saved [1-9][0-9]* bytes`, saveLog)

	bk := startBuildkitd(t)
	progB := build(newBuildxOn(t, bk.addr), "2", "--build-arg", "NPM_ENV=npm_config_offline=true",
		"--cache-from", "type=registry,ref="+layers,
		"--build-context", "dapp-cache-mounts=docker-image://"+saved)
	require.Empty(t, progB.ran("[app] beforeInstall"), "B takes nodejs and npm from A's layer cache")
	logB := npmLog(progB)
	t.Logf("runner B:\n%s", logB)
	require.Regexp(t, `(?m)^cache `+ns+`/dapp/auto/npm: seeded [1-9][0-9]* bytes`, plainLog(progB.Raw))
	// npm_config_offline=true: npm fails with ENOTCACHED for anything not
	// in its cache. npm ci reads a locked tarball from its cache by the
	// lockfile's integrity, without an http request to log; any request
	// it does log must be answered from the cache.
	require.Contains(t, logB, "added 1 package")
	for _, l := range regexp.MustCompile(`(?m)^npm http fetch .*$`).FindAllString(logB, -1) {
		require.Regexp(t, `\(cache (hit|stale)\)$`, l, "npm used the network")
	}
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
