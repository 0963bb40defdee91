//go:build e2e

package e2e

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// traceLineRe is one line of the phase trace as `buildctl --progress=plain`
// prints it (a vertex named by the line); docs/benchmarks.md describes it.
var traceLineRe = regexp.MustCompile(`(?m)^#[0-9]+ dapp-trace: (phase|io|total)=([a-z-]+) ms=[0-9]+\.[0-9] bytes=([0-9]+) calls=[0-9]+$`)

// TestTracePhases: `--opt trace=1` prints one line per phase of the build
// into the progress output of a frontend run as an image, as a benchmark
// reads it; without the option there is none. The definition it reports
// is small: file content is not inlined when the helper is there.
func TestTracePhases(t *testing.T) {
	t.Parallel()
	e := env(t)
	r := newAppRepo(t)
	df := dappDir(t, appDappfile)
	args := []string{"--frontend", "gateway.v0", "--opt", "source=" + e.FrontendImage(), "--opt", "toolchain-image=" + e.ToolchainImage,
		"--local", "context=" + r.dir, "--local", "dockerfile=" + df,
		"--opt", "context:busybox=docker-image://" + e.Image("busybox:latest")}
	_, res := buildctlOCI(t, append(args, "--opt", "trace=1")...)
	got := map[string]string{}
	for _, m := range traceLineRe.FindAllStringSubmatch(res.Stderr, -1) {
		got[m[1]+"="+m[2]] = m[3]
	}
	for _, want := range []string{"phase=options", "phase=dappfile", "phase=git", "phase=worktree", "phase=plan", "phase=marshal", "phase=solve", "io=probe-solve", "total=build"} {
		require.Contains(t, got, want, "trace lines:\n%s", res.Stderr)
	}
	require.NotEqual(t, "0", got["phase=marshal"], "marshal reports the definition's size")
	// the repository holds 2.2 MB of sources: a frontend run as an image
	// writes them with its git-export helper, never inline in the LLB
	require.Less(t, len(got["phase=marshal"]), len("100000"), "definition of %s bytes", got["phase=marshal"])
	// run as an image, the frontend reads .git ahead inside the build
	// (one file, its bytes in the io row) and go-git then finds what it
	// reads in memory; the read-ahead never fell back to the gateway
	require.Contains(t, got, "io=git-read-ahead", "trace lines:\n%s", res.Stderr)
	require.NotEqual(t, "0", got["io=git-read-ahead"], "the read-ahead reports the bytes of its file")
	require.NotContains(t, got, "io=git-read-ahead-fallback", "trace lines:\n%s", res.Stderr)

	_, res = buildctlOCI(t, args...)
	require.NotContains(t, res.Stderr, "dapp-trace:")
}
