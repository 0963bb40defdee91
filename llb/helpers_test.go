package llb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/platforms"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// fakeResolver answers every image with a fixed config and digest, and
// records which refs (and for which platforms) were asked for. Like a
// multi-platform index, it answers the platform asked for (amd64 when none
// is); with only set, like a single-platform image, it answers that one.
type fakeResolver struct {
	config map[string]any
	only   *ocispecs.Platform
	mu     sync.Mutex
	asked  []string
	// platforms are the platforms asked for, "ref platform" each.
	platforms []string
}

func (r *fakeResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	r.mu.Lock()
	r.asked = append(r.asked, ref)
	r.platforms = append(r.platforms, ref+" "+platforms.Format(p))
	r.mu.Unlock()
	if r.only != nil {
		p = *r.only
	}
	cfg := r.config
	if cfg == nil {
		cfg = map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{"sh"}}
	}
	img := map[string]any{"os": p.OS, "architecture": p.Architecture, "rootfs": map[string]any{"type": "layers"}, "config": cfg}
	if p.Variant != "" {
		img["variant"] = p.Variant
	}
	dt, err := json.Marshal(img)
	return ref, fakeDigest(ref, p), dt, err
}

// fakeDigest is the manifest digest fakeResolver gives ref on platform p:
// each platform of an index has its own manifest.
func fakeDigest(ref string, p ocispecs.Platform) digest.Digest {
	return digest.FromString(ref + " " + platforms.Format(p))
}

// parse reads a Dappfile given as text.
func parse(t *testing.T, text string) *dappfile.Config {
	t.Helper()
	cfg, _, err := dappfile.Parse([]byte(strings.TrimLeft(text, "\n")), dappfile.ParseOpt{})
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

// name is a vertex's progress name. Tests find vertices by structure (see
// describe, run, copyTo) and look at names only to check the names.
func (g *graph) name(d digest.Digest) string {
	return g.def.Metadata[d].Description["llb.customname"]
}

// chainOps follows the first input from the head down to the source and
// returns the digests, source first.
func (g *graph) chainOps() []digest.Digest {
	var out []digest.Digest
	for d := g.head; d != ""; {
		out = append([]digest.Digest{d}, out...)
		op := g.ops[d]
		if len(op.Inputs) == 0 {
			break
		}
		d = digest.Digest(op.Inputs[0].Digest)
	}
	return out
}

// chain returns the progress names along chainOps, source first.
func (g *graph) chain() []string {
	var names []string
	for _, d := range g.chainOps() {
		names = append(names, g.name(d))
	}
	return names
}

// steps describes the ops along chainOps by structure, source first.
func (g *graph) steps() []string {
	var out []string
	for _, d := range g.chainOps() {
		out = append(out, g.describe(d))
	}
	return out
}

// describe is an op's structure: "image REF" (without the pinned
// digest), "run SCRIPT" (an exec of
// /bin/sh -ec), "exec ARGS" (any other exec), "file ACTIONS" with the
// actions as "mkdir P", "mkfile P", "symlink P", "rm P", "copy SRC → DEST".
func (g *graph) describe(d digest.Digest) string {
	op := g.ops[d]
	switch {
	case op.GetSource() != nil:
		id := op.GetSource().Identifier
		if ref, ok := strings.CutPrefix(id, "docker-image://"); ok {
			// the pinned digest comes from the test resolver
			ref, _, _ = strings.Cut(ref, "@")
			return "image " + ref
		}
		return "source " + id
	case op.GetExec() != nil:
		args := op.GetExec().Meta.Args
		if len(args) == 3 && (args[0] == "/bin/sh" || args[0] == toolchainBash) && args[1] == "-ec" {
			return "run " + args[2]
		}
		return "exec " + strings.Join(args, " ")
	case op.GetFile() != nil:
		var acts []string
		for _, a := range op.GetFile().Actions {
			switch {
			case a.GetMkdir() != nil:
				acts = append(acts, "mkdir "+a.GetMkdir().Path)
			case a.GetMkfile() != nil:
				acts = append(acts, "mkfile "+a.GetMkfile().Path)
			case a.GetSymlink() != nil:
				acts = append(acts, "symlink "+a.GetSymlink().Newpath)
			case a.GetRm() != nil:
				acts = append(acts, "rm "+a.GetRm().Path)
			case a.GetCopy() != nil:
				acts = append(acts, "copy "+a.GetCopy().Src+" → "+a.GetCopy().Dest)
			}
		}
		return "file " + strings.Join(acts, ", ")
	}
	return fmt.Sprintf("op %T", op.Op)
}

// find returns the first op (in definition order) whose description
// satisfies match; what names it in the failure.
func (g *graph) find(t *testing.T, what string, match func(desc string) bool) (digest.Digest, *pb.Op) {
	t.Helper()
	for _, d := range g.order {
		if match(g.describe(d)) {
			return d, g.ops[d]
		}
	}
	require.Failf(t, "no vertex", "no %s in %v", what, g.steps())
	return "", nil
}

// run finds the exec that runs script with /bin/sh -ec.
func (g *graph) run(t *testing.T, script string) (digest.Digest, *pb.Op) {
	t.Helper()
	return g.find(t, "run "+script, func(desc string) bool { return desc == "run "+script })
}

// runs finds the exec whose command line starts with prefix (after
// /bin/sh -ec, or the whole argument list of any other exec).
func (g *graph) runs(t *testing.T, prefix string) (digest.Digest, *pb.Op) {
	t.Helper()
	return g.find(t, "exec of "+prefix, func(desc string) bool {
		return strings.HasPrefix(desc, "run "+prefix) || strings.HasPrefix(desc, "exec "+prefix)
	})
}

// copyTo finds the FileOp whose first action copies into dest.
func (g *graph) copyTo(t *testing.T, dest string) (digest.Digest, *pb.Op) {
	t.Helper()
	return g.find(t, "copy to "+dest, func(desc string) bool {
		_, first, _ := strings.Cut(desc, "file ")
		first, _, _ = strings.Cut(first, ", ")
		return strings.HasPrefix(desc, "file copy ") && strings.HasSuffix(first, " → "+dest)
	})
}

// fileOn finds the FileOp whose first action creates or removes path.
func (g *graph) fileOn(t *testing.T, path string) (digest.Digest, *pb.Op) {
	t.Helper()
	return g.find(t, "file op on "+path, func(desc string) bool {
		first, _, _ := strings.Cut(strings.TrimPrefix(desc, "file "), ", ")
		return strings.HasPrefix(desc, "file ") && strings.HasSuffix(first, " "+path)
	})
}

// neighbours are the ops right before (its first input) and right after
// (the op of the chain whose first input it is) d in the chain.
func (g *graph) neighbours(t *testing.T, d digest.Digest) (before, after *pb.Op) {
	t.Helper()
	chain := g.chainOps()
	for i, c := range chain {
		if c != d {
			continue
		}
		if i > 0 {
			before = g.ops[chain[i-1]]
		}
		if i+1 < len(chain) {
			after = g.ops[chain[i+1]]
		}
		return before, after
	}
	require.Failf(t, "not in the chain", "%s is not in the chain %v", d, g.steps())
	return nil, nil
}
