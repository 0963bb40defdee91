//go:build e2e

package e2e

import (
	"testing"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// TestPhaseTraceOrder: the trace lines come in the order of their chain
// whatever order progress reported them in, other vertices left out.
func TestPhaseTraceOrder(t *testing.T) {
	t.Parallel()
	d := func(s string) digest.Digest { return digest.FromString(s) }
	p := newProgress()
	ch := make(chan *client.SolveStatus, 1)
	ch <- &client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: d("c"), Name: "dapp-trace: phase=git", Inputs: []digest.Digest{d("b")}},
		{Digest: d("x"), Name: "[app] install"},
		{Digest: d("a"), Name: "dapp-trace: total=build"},
		{Digest: d("b"), Name: "dapp-trace: phase=options", Inputs: []digest.Digest{d("a")}},
	}}
	close(ch)
	p.consume(ch)
	want := "dapp-trace: total=build\ndapp-trace: phase=options\ndapp-trace: phase=git"
	if got := phaseTrace(p); got != want {
		t.Errorf("phaseTrace:\n%s\nwant:\n%s", got, want)
	}
	if got := phaseTrace(newProgress()); got != "" {
		t.Errorf("phaseTrace of a build without a trace: %q, want empty", got)
	}
}
