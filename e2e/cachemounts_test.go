//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/require"
)

// aptNpmDappfile is one Dappfile for the automatic package-manager caches:
//
//   - base is debian:bookworm with the two apt/dpkg files of the official
//     Debian images (debootstrap writes neither): docker-clean, which
//     deletes apt's downloads after every dpkg run unless the frontend hides
//     it for the step, and docker-apt-speedup (dpkg without fsync);
//   - hello and sl are artifacts that run apt update and install while
//     app does: three apt runs on one shared apt cache. hello starts from
//     the plain debian image (no docker-clean), so the frontend's file
//     mounts there need stubs that must not stay behind. sl uses `apt`,
//     which deletes what it installed unless told to keep it;
//   - app installs node and npm with apt in beforeInstall, a tiny npm
//     package in install, and imports a file of each artifact.
//
// Build arguments: RUN is a nonce in every cacheVersion, so a long-lived
// builder still runs everything; APT_VERSION is app's
// beforeInstallCacheVersion and sl's cacheVersion (a new value reruns them);
// NPM_ENV is put before `npm install` (npm_config_offline=true in the second
// build: npm may not use the network at all).
const aptNpmDappfile = `
dimg: base
from: debian:bookworm
shell:
  beforeInstall:
  - echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/docker-apt-speedup
  - |
    cat >/etc/apt/apt.conf.d/docker-clean <<'EOF'
    DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
    APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
    Dir::Cache::pkgcache "";
    Dir::Cache::srcpkgcache "";
    EOF
---
artifact: hello
from: debian:bookworm
shell:
  buildArtifactCacheVersion: "{{ env "RUN" }}"
  buildArtifact:
  - apt-get update
  - apt-get install -y --no-install-recommends hello
---
artifact: sl
fromDimg: base
shell:
  buildArtifactCacheVersion: "{{ env "APT_VERSION" }}"
  buildArtifact:
  - apt update
  - apt install -y --no-install-recommends sl
---
dimg: app
fromDimg: base
shell:
  beforeInstallCacheVersion: "{{ env "APT_VERSION" }}"
  beforeInstall:
  - apt-get update
  - apt-get install -y --no-install-recommends nodejs npm
  install:
  - mkdir -p /app && cd /app
  - {{ env "NPM_ENV" }} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install --no-audit --no-fund --loglevel http is-number@7.0.0
import:
- artifact: hello
  add: /usr/bin/hello
  to: /usr/local/bin/hello
  after: setup
- artifact: hello
  add: /etc/apt/apt.conf.d
  to: /opt/hello-apt.conf.d
  after: setup
- artifact: sl
  add: /usr/games/sl
  to: /usr/local/bin/sl
  after: setup
`

// uncompressed skips gzip in the OCI export: the test reads the layers
// right back, and compressing a node installation takes seconds.
var uncompressed = []client.ExportEntry{{Type: client.ExporterOCI, Attrs: map[string]string{"compression": "uncompressed"}}}

// TestAutoCacheAptNpm builds aptNpmDappfile twice, on caches of its own
// (BUILDKIT_CACHE_MOUNT_NS: with private sharing, the apt steps other tests
// run on the stack at the same time would otherwise leave instances of
// their own in its caches). The first build runs three apt runs at once
// (app and two artifacts): each gets an apt cache instance of its own, so
// none fails on apt's lock files and they run side by side, not one after
// the other. The second bumps app's beforeInstallCacheVersion and sl's
// cacheVersion, so both rerun at once: each finds its package lists in
// whichever instance it gets (every instance holds what its own apt-get
// update fetched), and npm installs with the network forbidden. Then sl
// is built alone twice on fresh caches: a step that has the cache to
// itself finds every package it downloaded before (docker-clean and
// `apt` notwithstanding). Neither cache leaves anything in the image.
func TestAutoCacheAptNpm(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	dir := writeTree(t, map[string]string{"Dappfile": aptNpmDappfile})
	run := nonce(t)
	opt := func(ns, target, aptVersion, npmEnv string) client.SolveOpt {
		o := inProcessOpt(t, dir, map[string]string{
			"target":                            target,
			"build-arg:BUILDKIT_CACHE_MOUNT_NS": ns,
			"build-arg:RUN":                     run,
			"build-arg:APT_VERSION":             run + "-" + aptVersion,
			"build-arg:NPM_ENV":                 npmEnv,
		})
		o.Exports = uncompressed
		return o
	}
	ns := "e2e-" + run

	img1, prog1 := solveOCI(t, c, opt(ns, "app", "1", ""), frontend.Build)
	t.Logf("apt, first build:\n%s", aptSummary(prog1.Log(t, "[app] beforeInstall")))
	t.Logf("npm, first build:\n%s", prog1.Log(t, "[app] install"))
	t.Run("parallel apt runs", func(t *testing.T) {
		// Three apt runs at once: private sharing gives each an apt cache
		// instance of its own, so none fails on apt's lock files
		// (/var/lib/apt/lists/lock, /var/cache/apt/archives/lock), and
		// none waits for another (locked sharing would make sl and app,
		// which start together, take turns).
		for _, name := range []string{"[hello] buildArtifact", "[sl] buildArtifact", "[app] beforeInstall"} {
			require.True(t, prog1.Ran(t, name), "%s ran", name)
			requireAptInstalled(t, prog1.Log(t, name))
		}
		sl, app := prog1.Vertex(t, "[sl] buildArtifact"), prog1.Vertex(t, "[app] beforeInstall")
		require.True(t, RanTogether(sl, app), "sl and app ran apt at the same time:\n%s", prog1.Dump())
		require.True(t, img1.File(t, "/usr/local/bin/hello").IsRegular())
		require.True(t, img1.File(t, "/usr/local/bin/sl").IsRegular())
		// hello's base has no docker-clean: the stubs the runtime made for
		// the step's apt configuration mounts are gone from its result.
		for _, f := range img1.Files(t) {
			if strings.HasPrefix(f.Path, "/opt/hello-apt.conf.d/") {
				require.NotContains(t, f.Path, "docker-clean")
				require.NotContains(t, f.Path, "zz-dapp")
			}
		}
	})
	checkNoPackageCaches(t, img1)

	img2, prog2 := solveOCI(t, c, opt(ns, "app", "2", "npm_config_offline=true"), frontend.Build)
	require.True(t, prog2.Cached(t, "[hello] buildArtifact"))
	require.True(t, prog2.Ran(t, "[sl] buildArtifact"))
	require.True(t, prog2.Ran(t, "[app] beforeInstall"), "a new beforeInstallCacheVersion reruns beforeInstall")
	require.True(t, prog2.Ran(t, "[app] install"))

	t.Run("apt lists from the cache", func(t *testing.T) {
		// sl and app rerun at once and take two of the instances the
		// first build left, whichever BuildKit finds first: each holds
		// Debian's lists, not necessarily this step's packages
		for _, name := range []string{"[app] beforeInstall", "[sl] buildArtifact"} {
			log := prog2.Log(t, name)
			t.Logf("%s, second build:\n%s", name, aptSummary(log))
			requireAptInstalled(t, log)
			requireAptListsFromCache(t, log, name)
		}
	})

	t.Run("npm downloads nothing", func(t *testing.T) {
		log := prog2.Log(t, "[app] install")
		t.Logf("npm, second build:\n%s", log)
		// npm_config_offline=true: npm fails with ENOTCACHED for anything
		// that is not in its cache. Its http log names where each request
		// was answered from; "cache miss" or "cache revalidated" would be
		// the network.
		require.Contains(t, log, "added 1 package")
		fetches := regexp.MustCompile(`(?m)^npm http fetch .*$`).FindAllString(log, -1)
		require.NotEmpty(t, fetches, "npm --loglevel http logs its requests:\n%s", log)
		for _, l := range fetches {
			require.Regexp(t, `\(cache (hit|stale)\)$`, l, "npm used the network")
		}
	})

	t.Run("no caches in the image", func(t *testing.T) {
		checkNoPackageCaches(t, img2)
		require.Contains(t, string(img2.File(t, "/app/package.json").Content), `"is-number"`)
		require.True(t, img2.File(t, "/app/node_modules/is-number/package.json").IsRegular())
		require.True(t, img2.File(t, "/usr/bin/npm").IsSymlink() || img2.File(t, "/usr/bin/npm").IsRegular())
	})

	t.Run("apt downloads nothing", func(t *testing.T) {
		// sl alone, twice, on caches no other step used: one instance,
		// and `apt` (which deletes what it installed unless told to keep
		// it) on a base with docker-clean finds every package there
		alone := func(version string) client.SolveOpt {
			o := opt(ns+"-alone", "sl", version, "")
			o.Exports = nil // build only
			return o
		}
		_, first := mustSolve(t, c, alone("alone-1"), frontend.Build)
		requireAptInstalled(t, first.Log(t, "[sl] buildArtifact"))
		_, second := mustSolve(t, c, alone("alone-2"), frontend.Build)
		log := second.Log(t, "[sl] buildArtifact")
		t.Logf("sl alone, second build:\n%s", aptSummary(log))
		requireAptFromCache(t, log, "[sl] buildArtifact")
	})
}

// requireAptInstalled: the apt run got to install its packages (no lock or
// download error on the way).
func requireAptInstalled(t *testing.T, log string) {
	t.Helper()
	require.Regexp(t, `(?m)^[0-9]+ upgraded, [1-9][0-9]* newly installed`, log)
	require.NotRegexp(t, `(?m)^E: `, log)
}

// requireAptListsFromCache: an apt run whose update fetched no package
// list (only the signed release file, which a proxy that ignores
// If-Modified-Since always refetches; see requireAptFromCache); what its
// install downloads is not checked.
func requireAptListsFromCache(t *testing.T, log, name string) {
	t.Helper()
	index := regexp.MustCompile(`^Get:\d+ \S+ \S+ (\S+ )?(Packages|Sources|Translation-\S+|Contents-\S+|Release|Release\.gpg)\b`)
	for _, l := range regexp.MustCompile(`(?m)^Get:.*$`).FindAllString(log, -1) {
		require.False(t, index.MatchString(l), "%s downloaded a package list: %s", name, l)
	}
}

// checkNoPackageCaches: nothing apt or npm downloaded is in the image, and
// the step-only apt configuration did not leak into it.
func checkNoPackageCaches(t *testing.T, img *OCIImage) {
	t.Helper()
	for _, f := range img.Files(t) {
		switch {
		case strings.HasPrefix(f.Path, "/var/cache/apt/") && strings.HasSuffix(f.Path, ".deb"):
			t.Errorf("image holds a downloaded package: %s", f.Path)
		case strings.HasPrefix(f.Path, "/var/lib/apt/lists/") && !f.IsDir():
			t.Errorf("image holds an apt package list: %s", f.Path)
		case f.Path == "/root/.npm" || strings.HasPrefix(f.Path, "/root/.npm/"):
			t.Errorf("image holds npm's cache: %s", f.Path)
		case strings.HasPrefix(f.Path, "/etc/apt/apt.conf.d/zz-dapp"):
			t.Errorf("image holds the step-only apt configuration: %s", f.Path)
		}
	}
	require.Contains(t, string(img.File(t, "/etc/apt/apt.conf.d/docker-clean").Content), "DPkg::Post-Invoke",
		"docker-clean is hidden for the step only, never changed in the image")
}

// aptSummary keeps the lines of apt's output that say what it fetched.
func aptSummary(s string) string {
	re := regexp.MustCompile(`^(Get:|Hit:|Ign:|Err:|E:|W:|Need to get|Fetched|[0-9]+ upgraded)`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// buildDirDappfile: two images of one project mount the same build_dir;
// one also has a tmp_dir. Each stage records what it found; RUN (a nonce
// per build) is in the cacheVersions, so every build runs the stages.
const buildDirDappfile = `
dimg: one
from: busybox:latest
mount:
- from: build_dir
  to: /build
- from: tmp_dir
  to: /scratch
shell:
  cacheVersion: "{{ env "RUN" }}"
  beforeInstall:
  - echo "one {{ env "RUN" }}" >>/build/log
  - cp /build/log /seen-build
  - ls -A /scratch >/seen-tmp-beforeInstall
  - echo left behind >/scratch/file
  install:
  - ls -A /scratch >/seen-tmp-install
  - echo left behind >/scratch/file
---
dimg: two
from: busybox:latest
mount:
- from: build_dir
  to: /build
shell:
  cacheVersion: "{{ env "RUN" }}"
  install:
  - cat /build/log >/seen-build 2>/dev/null || true
`

// TestBuildDirMounts: what a build writes into a build_dir is there for the
// next build and for another image of the same project, not for another
// project; a tmp_dir is empty in every stage of every build. Neither leaves
// content in the image, only an empty mount point (as dapp did).
func TestBuildDirMounts(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	dir := writeTree(t, map[string]string{"Dappfile": buildDirDappfile})
	id := nonce(t)
	project := "e2e-build-dir-" + id
	t.Cleanup(func() { pruneCacheMounts(t, c, project) })
	build := func(target, run, project string) *OCIImage {
		t.Helper()
		img, _ := solveOCI(t, c, inProcessOpt(t, dir, map[string]string{
			"target": target, "project": project, "build-arg:RUN": id + "-" + run,
		}), frontend.Build)
		return img
	}
	content := func(img *OCIImage, p string) string {
		t.Helper()
		return string(img.File(t, p).Content)
	}
	emptyDir := func(img *OCIImage, p string) {
		t.Helper()
		require.True(t, img.File(t, p).IsDir(), "%s is a directory in the image", p)
		for _, f := range img.Files(t) {
			require.False(t, strings.HasPrefix(f.Path, p+"/"), "%s is empty in the image, has %s", p, f.Path)
		}
	}
	line := func(run string) string { return "one " + id + "-" + run + "\n" }

	first := build("one", "1", project)
	require.Equal(t, line("1"), content(first, "/seen-build"))

	second := build("one", "2", project)
	require.Equal(t, line("1")+line("2"), content(second, "/seen-build"), "build_dir keeps what the first build wrote")

	for _, img := range []*OCIImage{first, second} {
		require.Empty(t, content(img, "/seen-tmp-beforeInstall"), "tmp_dir starts empty in every build")
		require.Empty(t, content(img, "/seen-tmp-install"), "tmp_dir starts empty in every stage")
		emptyDir(img, "/build")
		emptyDir(img, "/scratch")
	}

	two := build("two", "3", project)
	require.Equal(t, line("1")+line("2"), content(two, "/seen-build"), "another image of the project sees the build_dir")
	emptyDir(two, "/build")

	other := build("two", "4", "e2e-other-"+id)
	t.Cleanup(func() { pruneCacheMounts(t, c, "e2e-other-"+id) })
	require.Empty(t, content(other, "/seen-build"), "another project has a build_dir of its own")
}

// pruneCacheMounts removes the builder's cache mounts whose description
// (which holds the cache ID) contains s.
func pruneCacheMounts(t *testing.T, c *client.Client, s string) {
	t.Helper()
	ch := make(chan client.UsageInfo)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	// t.Context() is already cancelled when cleanups run
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// one filter string: its comma-separated parts must all match (several
	// strings would be alternatives)
	err := c.Prune(ctx, ch, client.PruneAll, client.WithFilter([]string{
		"type==" + string(client.UsageRecordTypeCacheMount) + ",description~=" + regexp.QuoteMeta(s),
	}))
	close(ch)
	n := <-done
	if err != nil {
		t.Errorf("prune cache mounts %q: %v", s, err)
		return
	}
	t.Logf("pruned %d cache mounts of %s", n, s)
}
