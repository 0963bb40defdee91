package gitllb

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

func testExportEnv() (ExportEnv, error) {
	return ExportEnv{
		DotGit:   llb.Local("context", llb.IncludePatterns([]string{".git"}), llb.LocalUniqueID("test")),
		Helper:   llb.Image("registry.test/dapp-frontend:dev"),
		Platform: &ocispecs.Platform{OS: "linux", Architecture: "amd64"},
	}, nil
}

// decoded are the ops of a definition, with the source op each input
// digest points at.
type decoded struct {
	execs []*pb.ExecOp
	// files are the FileOps but those that narrow .git
	files []*pb.FileOp
	// narrows are the FileOps that narrow .git for a git-export, by digest
	narrows      map[string]*pb.FileOp
	narrowInputs map[string][]*pb.Input
	sources      map[string]string // op digest → source identifier
	inputs       [][]*pb.Input     // of execs
}

// isNarrow tells the FileOp that makes a narrowed .git (narrowedGit).
func isNarrow(f *pb.FileOp) bool {
	return len(f.Actions) > 0 && f.Actions[0].GetMkdir() != nil && f.Actions[0].GetMkdir().Path == "/.git/objects/pack"
}

func decode(t *testing.T, st llb.State) decoded {
	t.Helper()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	d := decoded{sources: map[string]string{}, narrows: map[string]*pb.FileOp{}, narrowInputs: map[string][]*pb.Input{}}
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		switch {
		case op.GetExec() != nil:
			d.execs = append(d.execs, op.GetExec())
			d.inputs = append(d.inputs, op.Inputs)
		case op.GetFile() != nil && isNarrow(op.GetFile()):
			d.narrows[digest.FromBytes(dt).String()] = op.GetFile()
			d.narrowInputs[digest.FromBytes(dt).String()] = op.Inputs
		case op.GetFile() != nil:
			d.files = append(d.files, op.GetFile())
		case op.GetSource() != nil:
			d.sources[digest.FromBytes(dt).String()] = op.GetSource().Identifier
		}
	}
	return d
}

func TestApplyOverLimitIsExecPlusCopy(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	m := mapping("/src", "/srv/app")
	m.Owner = "app"
	p, _ := h.plan(m, gitsource.PlanOpt{})
	st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 16, Export: testExportEnv})
	d := decode(t, st)

	require.Len(t, d.execs, 1)
	ex := d.execs[0]
	require.Equal(t, pb.NetMode_NONE, ex.Network)
	require.Empty(t, ex.Secretenv)
	require.Equal(t, "", ex.Meta.User, "root")
	want := append([]string{"/dapp-helper/dapp-frontend", "git-export"},
		p.ExportSpec(p.ArchiveStep(), h.Clock.Add(-60e9)).Args("/dapp-git/.git", "/out0")...)
	want = append(want, "--blob-cache", "/dapp-blob-cache")
	require.Equal(t, want, ex.Meta.Args)
	mounts := map[string]*pb.Mount{}
	for _, mt := range ex.Mounts {
		mounts[mt.Dest] = mt
	}
	require.Len(t, mounts, 5)
	require.Equal(t, pb.MountType_CACHE, mounts["/dapp-blob-cache"].MountType)
	require.True(t, mounts["/dapp-helper"].Readonly)
	require.True(t, mounts["/dapp-git"].Readonly)
	require.Equal(t, pb.MountType_BIND, mounts["/dapp-git"].MountType)
	require.False(t, mounts["/out0"].Readonly)
	require.Equal(t, int64(-1), mounts["/out0"].Input, "the output starts empty")
	require.GreaterOrEqual(t, mounts["/out0"].Output, int64(0))
	inputs := d.inputs[0]
	require.Equal(t, "docker-image://registry.test/dapp-frontend:dev", d.sources[inputs[mounts["/dapp-helper"].Input].Digest])
	// .git comes narrowed to the objects the export reads: the files
	// of gitsource.ExportFiles copied from the context's .git
	narrowDigest := inputs[mounts["/dapp-git"].Input].Digest
	narrow := d.narrows[narrowDigest]
	require.NotNil(t, narrow, "the helper mounts the narrowed .git")
	files, ok, err := p.ExportFiles(p.ExportSpec(p.ArchiveStep(), h.Clock.Add(-60e9)))
	require.NoError(t, err)
	require.True(t, ok)
	var copied []string
	for _, a := range narrow.Actions {
		if cp := a.GetCopy(); cp != nil {
			require.Equal(t, "local://context", d.sources[d.narrowInputs[narrowDigest][a.SecondaryInput].Digest])
			for _, inc := range cp.IncludePatterns {
				copied = append(copied, strings.TrimPrefix(cp.Src, "/.git/")+"/"+inc)
			}
			if len(cp.IncludePatterns) == 0 {
				copied = append(copied, strings.TrimPrefix(cp.Src, "/.git/"))
			}
		}
	}
	sort.Strings(copied)
	require.Equal(t, files, copied)

	require.Len(t, d.files, 1, "one FileOp, so one layer")
	acts := d.files[0].Actions
	last := acts[len(acts)-1].GetCopy()
	require.NotNil(t, last, "the files come in by one copy")
	require.Equal(t, "/", last.Src)
	require.Equal(t, "/srv/app", last.Dest)
	require.True(t, last.DirCopyContents)
	require.True(t, last.CreateDestPath)
	require.Equal(t, "app", last.Owner.User.GetByName().Name)
	for _, a := range acts[:len(acts)-1] {
		require.NotNil(t, a.GetMkdir(), "no file data travels inline: %v", a)
	}
}

func TestApplyOverLimitPatchRemovesInline(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.Remove("src/lib/deep")
	h.Write("src/app/main.go", "package main // changed\n")
	h.Commit("change")
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	step, _ := p.LatestPatchStep()
	d := decode(t, mustApply(t, p, step, ApplyOpt{MaxInlineBytes: 1, Export: testExportEnv}))
	require.Len(t, d.execs, 1)
	require.Contains(t, d.execs[0].Meta.Args, "--from-commit")
	acts := d.files[0].Actions
	require.Equal(t, "/app/lib/deep", acts[0].GetRm().Path)
	require.NotNil(t, acts[len(acts)-1].GetCopy())
}

func TestApplySmallStepStaysInline(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	d := decode(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv}))
	require.Empty(t, d.execs)
	require.Len(t, d.files, 1)
	for _, a := range d.files[0].Actions {
		require.Nil(t, a.GetCopy())
	}
}

func TestApplyOverLimitWithoutHelper(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	_, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 16,
		Export: func() (ExportEnv, error) { return ExportEnv{}, errors.New("set git-helper-image") }})
	var le *InlineLimitError
	require.ErrorAs(t, err, &le)
	require.ErrorContains(t, err, "more than the 16 bytes that can be sent inline in the build definition: set git-helper-image")
}

func TestApplyOverLimitDeterministic(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.Write("src/app/main.go", "package main // changed\n")
	h.Commit("change")
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	build := func() [][]byte {
		st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 1, Export: testExportEnv})
		step, _ := p.LatestPatchStep()
		st, err := Apply(st, p, step, ApplyOpt{MaxInlineBytes: 1, Export: testExportEnv})
		require.NoError(t, err)
		return marshalBytes(t, st)
	}
	first := build()
	for range 25 {
		require.Equal(t, first, build())
	}
}

// TestApplySharedBudget: what one point inlines counts against the build's
// budget, so a later point that would fit on its own goes through the
// helper once the budget is spent.
func TestApplySharedBudget(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	budget := int64(1 << 20)
	d := decode(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv, Budget: &budget}))
	require.Empty(t, d.execs, "the first archive fits the budget")
	require.Less(t, budget, int64(1<<20), "the inlined bytes were taken off the budget")
	used := int64(1<<20) - budget
	budget = used - 1
	d = decode(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv, Budget: &budget}))
	require.NotEmpty(t, d.execs, "with less budget left than the point needs, the helper writes it")
	require.Equal(t, used-1, budget, "the helper path inlines nothing")
}
