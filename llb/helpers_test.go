package llb

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// fakeResolver answers every image with a fixed config and digest, and
// records which refs were asked for.
type fakeResolver struct {
	config map[string]any
	asked  []string
}

func (r *fakeResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.asked = append(r.asked, ref)
	cfg := r.config
	if cfg == nil {
		cfg = map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{"sh"}}
	}
	dt, err := json.Marshal(map[string]any{"os": "linux", "architecture": "amd64", "rootfs": map[string]any{"type": "layers"}, "config": cfg})
	return ref, digest.FromString(ref), dt, err
}

// parse reads a Dappfile given as text.
func parse(t *testing.T, text string) *dappfile.Config {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(strings.TrimLeft(text, "\n")), dappfile.ParseOpt{Filename: "Dappfile"})
	require.NoError(t, err)
	return cfg
}

func testOpt() ConvertOpt {
	return ConvertOpt{
		ImageResolver: &fakeResolver{},
		BuildContext: func(include, exclude []string) (bkllb.State, error) {
			return bkllb.Local("context", bkllb.IncludePatterns(include), bkllb.ExcludePatterns(exclude)), nil
		},
	}
}

// graph is a marshalled definition decoded for assertions.
type graph struct {
	def   *bkllb.Definition
	ops   map[digest.Digest]*pb.Op
	order []digest.Digest
	head  digest.Digest
}

func convert(t *testing.T, text string, opt ConvertOpt) (*graph, *Result) {
	t.Helper()
	res, err := Convert(context.Background(), parse(t, text), opt)
	require.NoError(t, err)
	return marshal(t, res.State), res
}

func marshal(t *testing.T, st bkllb.State) *graph {
	t.Helper()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	g := &graph{def: def, ops: map[digest.Digest]*pb.Op{}}
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		d := digest.FromBytes(dt)
		g.ops[d] = &op
		g.order = append(g.order, d)
	}
	// The last op of a definition is the terminal one pointing at the head.
	last := g.ops[g.order[len(g.order)-1]]
	g.head = digest.Digest(last.Inputs[0].Digest)
	return g
}

// name is a vertex's progress name.
func (g *graph) name(d digest.Digest) string {
	return g.def.Metadata[d].Description["llb.customname"]
}

// chain follows the first input from the head down to the source and
// returns the progress names, source first.
func (g *graph) chain() []string {
	var names []string
	for d := g.head; d != ""; {
		names = append([]string{g.name(d)}, names...)
		op := g.ops[d]
		if len(op.Inputs) == 0 {
			break
		}
		d = digest.Digest(op.Inputs[0].Digest)
	}
	return names
}

// byName finds the op whose progress name starts with prefix.
func (g *graph) byName(t *testing.T, prefix string) (digest.Digest, *pb.Op) {
	t.Helper()
	for _, d := range g.order {
		if strings.HasPrefix(g.name(d), prefix) {
			return d, g.ops[d]
		}
	}
	require.Failf(t, "no vertex", "no vertex named %q in %v", prefix, g.chain())
	return "", nil
}
