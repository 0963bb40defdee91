//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// benchCacheDockerfile is benchDockerfile with the install step's
// package cache in a cache mount, the Dockerfile best practice for CI.
const benchCacheDockerfile = `FROM busybox:latest
COPY --chown=app:app package.json /app/package.json
RUN --mount=type=cache,target=/root/.cache cp /app/package.json /installed.json
COPY --chown=app:app . /app
RUN ls -l /app > /setup.txt
`

// BenchmarkSecondRunner is a CI job after a 10 KB commit on a runner that
// starts empty (runner B, a new buildkitd each iteration), importing the
// registry cache runner A exported for the previous commit (mode=max) and
// pushing the image: the Dappfile (appDappfile, through the frontend image
// and buildctl) against the equivalent Dockerfile with RUN
// --mount=type=cache (BuildKit's own frontend), on the same repository
// (2.2 MB, newAppRepo) and the same two-runner setup. Reported per build
// of B: wall time, bytes B pulled from and pushed to the registry (blob
// bodies, counted by a proxy in front of it), and the dockerfile/dappfile
// ratios; MB-pulled-frontend/build is the part of the pull that is the
// frontend image (a fresh runner fetches it once). A's builds and the
// start of B are not timed.
//
//	make bench BENCH=SecondRunner
func BenchmarkSecondRunner(b *testing.B) {
	e := env(b)
	var dapp struct {
		time           time.Duration
		pulled, pushed float64
	}
	for _, kind := range []string{"dappfile", "dockerfile"} {
		b.Run(kind, func(b *testing.B) {
			p := startRegProxy(b, e.Registry)
			a := startRunner(b, p.Host)
			r := newAppRepo(b)
			var j *ciJob
			if kind == "dappfile" {
				j = newCIJob(b, "buildctl", p, r.dir, appDappfile)
			} else {
				j = newCIJob(b, "dockerfile", p, r.dir, benchCacheDockerfile)
			}
			j.build(a, "a0", true)
			var total time.Duration
			var pulled, pushed, frontendPulled int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r.write(fmt.Sprintf("src/mod%02d.js", i%16), sourceText(10<<10), 0o644)
				r.commit(fmt.Sprintf("change %d", i))
				runnerB := startRunner(b, p.Host)
				start := time.Now()
				b.StartTimer()
				_, prog, traffic := j.build(runnerB, fmt.Sprintf("b%d", i), false)
				b.StopTimer()
				total += time.Since(start)
				pulled += traffic.Pulled
				pushed += traffic.Pushed
				frontendPulled += traffic.PulledFrom["dapp-frontend"]
				b.Logf("%s, runner B: %.1fs, pulled %d bytes %v, pushed %d bytes, uploaded %d blobs; steps run: %v",
					kind, time.Since(start).Seconds(), traffic.Pulled, traffic.PulledFrom, traffic.Pushed, len(traffic.Uploaded), prog.ranSteps())
				// A builds the commit too: the next iteration's cache
				j.build(a, fmt.Sprintf("a%d", i+1), true)
			}
			n := float64(b.N)
			per := total / time.Duration(b.N)
			b.ReportMetric(per.Seconds(), "s/build")
			b.ReportMetric(float64(pulled)/n/1e6, "MB-pulled/build")
			b.ReportMetric(float64(pushed)/n/1e6, "MB-pushed/build")
			if kind == "dappfile" {
				b.ReportMetric(float64(frontendPulled)/n/1e6, "MB-pulled-frontend/build")
			}
			if kind == "dappfile" {
				dapp.time, dapp.pulled, dapp.pushed = per, float64(pulled)/n, float64(pushed)/n
			} else if dapp.time > 0 {
				b.ReportMetric(float64(per)/float64(dapp.time), "time-dockerfile/dappfile")
				if dapp.pulled > 0 {
					b.ReportMetric(float64(pulled)/n/dapp.pulled, "pulled-dockerfile/dappfile")
				}
				if dapp.pushed > 0 {
					b.ReportMetric(float64(pushed)/n/dapp.pushed, "pushed-dockerfile/dappfile")
				}
			}
		})
	}
}
