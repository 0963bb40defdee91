//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
)

// benchAptDappfile installs node and npm (387 packages, ~47 MB) on a
// Debian image set up like the official one (docker-clean, dpkg without
// fsync); RUN is app's beforeInstallCacheVersion. base writes docker-clean
// in a stage of its own: a stage that mentions docker-clean is left to
// handle it itself, and this one would empty the apt cache.
const benchAptDappfile = `
dimg: base
from: debian:bookworm
shell:
  beforeInstall:
  - echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/docker-apt-speedup
  - printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n' >/etc/apt/apt.conf.d/docker-clean
---
dimg: app
fromDimg: base
shell:
  beforeInstallCacheVersion: "{{ env "RUN" }}"
  beforeInstall:
  - apt-get update
  - apt-get install -y --no-install-recommends nodejs npm
`

// BenchmarkAptSecondBuild times the second build of an image whose
// beforeInstall runs apt, after a cacheVersion bump (so the stage runs
// again, as it does after any change to it), with the automatic cache
// mounts (cache=on) and without (cache=off, `--opt auto-cache=false`). Each
// iteration does a first build (not timed) and the second one (timed):
// s/build is the second build's time, MB-fetched/build what apt downloaded
// in it; cache=off also reports its time divided by cache=on's (off/on).
//
//	make bench BENCH=AptSecondBuild
func BenchmarkAptSecondBuild(b *testing.B) {
	c := newClient(b)
	dir := writeTree(b, map[string]string{"Dappfile": benchAptDappfile})
	var on time.Duration
	for _, mode := range []struct {
		name, autoCache string
	}{{"cache=on", "true"}, {"cache=off", "false"}} {
		b.Run(mode.name, func(b *testing.B) {
			var total time.Duration
			var fetched float64
			for i := 0; i < b.N; i++ {
				run := nonce(b)
				build := func(version string) (time.Duration, float64) {
					start := time.Now()
					_, prog := mustSolve(b, c, client.SolveOpt{
						FrontendAttrs: benchAttrs(b, map[string]string{
							"target":        "app",
							"auto-cache":    mode.autoCache,
							"build-arg:RUN": run + "-" + version,
						}),
						LocalMounts: localMounts(b, map[string]string{"context": dir, "dockerfile": dir}),
					}, frontend.Build)
					if !prog.Ran(b, "[app] beforeInstall") {
						b.Fatalf("beforeInstall did not run:\n%s", prog.Dump())
					}
					log := prog.Log(b, "[app] beforeInstall")
					b.Logf("%s, %s build: %s", mode.name, version, aptFetched(log))
					return time.Since(start), aptFetchedMB(log)
				}
				b.StopTimer()
				build("first")
				b.StartTimer()
				d, mb := build("second")
				total += d
				fetched += mb
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(per.Seconds(), "s/build")
			b.ReportMetric(fetched/float64(b.N), "MB-fetched/build")
			if mode.autoCache == "true" {
				on = per
			} else if on > 0 {
				b.ReportMetric(float64(per)/float64(on), "off/on")
			}
		})
	}
}

// benchAttrs are the frontend options of a benchmark build: the base image
// contexts plus attrs.
func benchAttrs(b *testing.B, attrs map[string]string) map[string]string {
	fa := env(b).BaseImageContexts()
	for k, v := range attrs {
		fa[k] = v
	}
	return fa
}

// aptFetched is apt's "Need to get" and "Fetched" lines, on one line.
func aptFetched(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "Need to get") || strings.HasPrefix(l, "Fetched") {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}

var fetchedRe = regexp.MustCompile(`(?m)^Fetched ([0-9.]+) ([kMG]?B) in`)

// aptFetchedMB adds up apt's "Fetched N kB" lines, in MB.
func aptFetchedMB(log string) float64 {
	var mb float64
	for _, m := range fetchedRe.FindAllStringSubmatch(log, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		mb += v * map[string]float64{"B": 1e-6, "kB": 1e-3, "MB": 1, "GB": 1e3}[m[2]]
	}
	return mb
}
