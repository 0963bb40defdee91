//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

// benchDockerfile is the best-practice Dockerfile equivalent of
// appDappfile: the dependency file first so install caches, then the whole
// tree, owned by app.
const benchDockerfile = `FROM busybox:latest
COPY --chown=app:app package.json /app/package.json
RUN cp /app/package.json /installed.json
COPY --chown=app:app . /app
RUN ls -l /app > /setup.txt
`

// BenchmarkRebuildAfterCommit compares what a 10 KB source commit costs
// with the Dappfile (git archive + patches) and with the equivalent
// Dockerfile, on the same buildkitd and repository (2.2 MB, appDappfile's
// layout). Each iteration commits a change and times the rebuild; besides
// the time it reports the uncompressed bytes of the layers the new image
// has and the previous one lacks (what a push uploads), and, on the
// dockerfile run, both as dockerfile/dappfile ratios.
//
//	make bench BENCH=RebuildAfterCommit
func BenchmarkRebuildAfterCommit(b *testing.B) {
	c := newClient(b)
	var dappTime time.Duration
	var dappBytes float64
	for _, kind := range []string{"dappfile", "dockerfile"} {
		b.Run(kind, func(b *testing.B) {
			r := newAppRepo(b)
			build := rebuildFunc(b, c, kind, r.dir)
			prev := build()
			var total time.Duration
			var newBytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r.write(fmt.Sprintf("src/mod%02d.js", i%16), sourceText(10<<10), 0o644)
				r.commit(fmt.Sprintf("change %d", i))
				start := time.Now()
				b.StartTimer()
				img := build()
				b.StopTimer()
				total += time.Since(start)
				for _, idx := range newLayers(prev, img) {
					newBytes += img.Layers[idx].UncompressedSize
				}
				prev = img
			}
			per := total / time.Duration(b.N)
			bytes := float64(newBytes) / float64(b.N)
			b.ReportMetric(per.Seconds(), "s/build")
			b.ReportMetric(bytes, "new-layer-bytes/build")
			if kind == "dappfile" {
				dappTime, dappBytes = per, bytes
			} else if dappTime > 0 && dappBytes > 0 {
				b.ReportMetric(float64(per)/float64(dappTime), "time-dockerfile/dappfile")
				b.ReportMetric(bytes/dappBytes, "bytes-dockerfile/dappfile")
			}
		})
	}
}

// rebuildFunc builds repo dir with the Dappfile (in process) or the
// Dockerfile (BuildKit's own frontend), exporting the image each time.
func rebuildFunc(b *testing.B, c *client.Client, kind, dir string) func() *OCIImage {
	if kind == "dappfile" {
		df := dappDir(b, appDappfile)
		return func() *OCIImage {
			img, _, _ := dappBuild(b, c, dir, df, nil)
			return img
		}
	}
	df := writeTree(b, map[string]string{"Dockerfile": benchDockerfile, "Dockerfile.dockerignore": ".git\n"})
	return func() *OCIImage {
		img, _ := solveOCI(b, c, client.SolveOpt{
			Frontend:      "dockerfile.v0",
			FrontendAttrs: env(b).BaseImageContexts(),
			LocalMounts:   localMounts(b, map[string]string{"context": dir, "dockerfile": df}),
		}, nil)
		return img
	}
}
