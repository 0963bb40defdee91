//go:build e2e

package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/require"
)

// Issue 12: what a build in CI needs. Runners start empty, so the same
// commit must give the same image digest anywhere (reproducible by
// default), and a runner must reuse what another one exported to a registry.

// ciDappfile writes nothing time-dependent or random: two fresh builds of
// one commit are byte for byte the same once the exporter rewrites the
// file times (rewrite-timestamp=true). Its steps print no file times: the
// directories a git layer writes into carry the time of the build that
// wrote them (README, "Reproducible digests"), which the exporter clamps in
// the layer but a listing inside the build would record.
const ciDappfile = `dimg: app
from: busybox:latest
git:
- add: /
  to: /app
  stageDependencies:
    install: [deps.txt]
shell:
  install:
  - cp /app/deps.txt /installed.txt
  setup:
  - ls -R /app > /setup.txt
  - find /app -type f | sort | xargs md5sum >> /setup.txt
`

// newCIRepo is a small repository: CI tests measure what moves, not bulk.
func newCIRepo(t testing.TB) *gitRepo {
	r := newGitRepo(t)
	r.write("deps.txt", "left-pad 1.3.0 "+gitNonce()+"\n", 0o644)
	r.write("src/main.txt", sourceText(4<<10), 0o644)
	r.commit("init")
	return r
}

// commitTime is the committer time of HEAD.
func (r *gitRepo) commitTime() time.Time {
	r.t.Helper()
	sec, err := strconv.ParseInt(r.git("log", "-1", "--format=%ct"), 10, 64)
	require.NoError(r.t, err)
	return time.Unix(sec, 0).UTC()
}

// withRewriteTimestamp exports with the file times of every layer clamped
// to the epoch, the line the README gives for CI.
func withRewriteTimestamp(opt client.SolveOpt) client.SolveOpt {
	opt.Exports = []client.ExportEntry{{Type: client.ExporterOCI, Attrs: map[string]string{"rewrite-timestamp": "true"}}}
	return opt
}

// TestReproducibleImage: two builds of one commit from a fresh state (the
// second with no-cache reruns every step) give one image digest, created at
// the commit's time; SOURCE_DATE_EPOCH given by the user wins.
func TestReproducibleImage(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := newCIRepo(t)
	df := dappDir(t, ciDappfile)

	img1, _ := solveOCI(t, c, withRewriteTimestamp(gitSolveOpt(t, r.dir, df, nil)), frontend.Build)
	img2, prog2 := solveOCI(t, c, withRewriteTimestamp(gitSolveOpt(t, r.dir, df, map[string]string{"no-cache": ""})), frontend.Build)
	require.Positive(t, ranCount(prog2, "[app] install"), "no-cache reruns install")
	require.Positive(t, ranCount(prog2, "[app] setup"), "no-cache reruns setup")
	require.Equal(t, img1.Descriptor.Digest, img2.Descriptor.Digest, "one commit, one image digest")

	commit := r.commitTime()
	require.NotNil(t, img1.Config.Created)
	require.Equal(t, commit, img1.Config.Created.UTC(), "created is the commit's time")
	// The last three entries are the Dappfile's layers (gitArchive, install,
	// setup); the base image's keep their own times.
	hist := img1.Config.History
	require.GreaterOrEqual(t, len(hist), 3)
	for _, h := range hist[len(hist)-3:] {
		require.NotNil(t, h.Created, "history of %s", h.CreatedBy)
		require.Equal(t, commit, h.Created.UTC(), "history of %s", h.CreatedBy)
	}

	img3, _ := solveOCI(t, c, withRewriteTimestamp(gitSolveOpt(t, r.dir, df, map[string]string{"build-arg:SOURCE_DATE_EPOCH": "1000000000"})), frontend.Build)
	require.NotNil(t, img3.Config.Created)
	require.Equal(t, time.Unix(1000000000, 0).UTC(), img3.Config.Created.UTC(), "the user's SOURCE_DATE_EPOCH wins")
	require.NotEqual(t, img1.Descriptor.Digest, img3.Descriptor.Digest)
}
