package gitllb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

func batchEnv(t *testing.T) func() (ExportEnv, error) {
	env, err := testExportEnv()
	require.NoError(t, err)
	env.Batch = &ExportBatch{}
	return func() (ExportEnv, error) { return env, nil }
}

// TestExportBatchKeysPointsByTheirObjects: exported points that read
// the same files of .git (here two archives, both in the one pack) are
// written by one ExecOp with one output mount each, and each point's copy
// reads its own output; a point that reads a new commit's loose objects
// (the latest patch) runs in an ExecOp of its own, so a commit does not
// rerun the archives.
func TestExportBatchKeysPointsByTheirObjects(t *testing.T) {
	t.Parallel()
	h := exportRepo(t)
	h.Git("gc", "--quiet")
	h.Write("src/app/main.go", "package main // changed\n")
	h.Commit("change")
	p, _ := h.plan(mapping("/src", "/app"), gitsource.PlanOpt{})
	q, _ := h.plan(mapping("/src/app", "/other"), gitsource.PlanOpt{})
	export := batchEnv(t)
	st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 1, Export: export})
	st, err := Apply(st, q, q.ArchiveStep(), ApplyOpt{MaxInlineBytes: 1, Export: export})
	require.NoError(t, err)
	patch, _ := p.LatestPatchStep()
	st, err = Apply(st, p, patch, ApplyOpt{MaxInlineBytes: 1, Export: export})
	require.NoError(t, err)

	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	var execs []*pb.ExecOp
	var execDigests []string
	var copies []*pb.Input // the input each point's copy reads
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if e := op.GetExec(); e != nil {
			execs, execDigests = append(execs, e), append(execDigests, digest.FromBytes(dt).String())
		}
		if f := op.GetFile(); f != nil && !isNarrow(f) {
			for _, a := range f.Actions {
				if c := a.GetCopy(); c != nil {
					copies = append(copies, op.Inputs[a.SecondaryInput])
				}
			}
		}
	}
	require.Len(t, execs, 2, "the archives share one ExecOp, the patch has its own")
	archives, patchExec := 0, 1
	if len(execs[0].Mounts) < len(execs[1].Mounts) {
		archives, patchExec = 1, 0
	}
	want := append(append([]string{"/dapp-helper/dapp-frontend", "git-export"},
		p.ExportSpec(p.ArchiveStep(), mustTime(t, p, p.ArchiveStep())).Args("/dapp-git/.git", "/out0")...), "--blob-cache", "/dapp-blob-cache", "--")
	want = append(want, q.ExportSpec(q.ArchiveStep(), mustTime(t, q, q.ArchiveStep())).Args("/dapp-git/.git", "/out1")...)
	want = append(want, "--blob-cache", "/dapp-blob-cache")
	require.Equal(t, want, execs[archives].Meta.Args)
	require.Contains(t, execs[patchExec].Meta.Args, "--from-commit")
	outputs := map[string]int64{}
	for _, m := range execs[archives].Mounts {
		if m.Dest == "/dapp-blob-cache" {
			require.Equal(t, pb.MountType_CACHE, m.MountType)
			require.Equal(t, blobCacheID, m.CacheOpt.ID)
			require.Equal(t, pb.CacheSharingOpt_SHARED, m.CacheOpt.Sharing)
		}
		if m.Output >= 0 && m.Dest != "/" {
			outputs[m.Dest] = m.Output
			require.Equal(t, int64(-1), m.Input, "%s starts empty", m.Dest)
		}
	}
	require.Len(t, outputs, 2)
	require.Len(t, copies, 3)
	for i, in := range copies[:2] {
		require.Equal(t, execDigests[archives], in.Digest, "copy %d reads the archives' ExecOp", i)
		require.Equal(t, outputs[fmt.Sprintf("/out%d", i)], in.Index, "copy %d reads its own output", i)
	}
	require.NotEqual(t, copies[0].Index, copies[1].Index)
	require.Equal(t, execDigests[patchExec], copies[2].Digest)
}

func mustTime(t *testing.T, p *gitsource.MappingPlan, step gitsource.PlanStep) time.Time {
	t.Helper()
	tm, err := p.StepTime(step)
	require.NoError(t, err)
	return tm
}

// TestExportBatchSplits: a batch over the bounds becomes several ExecOps,
// at the same steps every time.
func TestExportBatchSplits(t *testing.T) {
	t.Parallel()
	env, _ := testExportEnv()
	b := &ExportBatch{}
	for i := range maxExecOutputs + 3 {
		b.add(env, gitsource.ExportSpec{Add: fmt.Sprintf("d%d", i)}, fmt.Sprintf("step %d", i), nil)
	}
	chunks := b.chunks()
	require.Len(t, chunks, 2)
	require.Len(t, chunks[0], maxExecOutputs)
	require.Len(t, chunks[1], 3)

	b = &ExportBatch{}
	big := make([]string, 0, 200)
	for i := range cap(big) {
		big = append(big, fmt.Sprintf("pattern/%0100d", i))
	}
	for i := range 3 {
		b.add(env, gitsource.ExportSpec{Add: fmt.Sprintf("d%d", i), Include: big}, "big", nil)
	}
	for _, c := range b.chunks() {
		require.LessOrEqual(t, argsSize(exportCommand(c)), maxExecArgBytes+256)
	}
	require.Equal(t, 2, len(b.chunks()), "two 24 KB steps fit, the third does not")
}

// TestExportBatchFrozen: a step added once the definition was marshalled
// fails the next marshal instead of being left out.
func TestExportBatchFrozen(t *testing.T) {
	t.Parallel()
	env, _ := testExportEnv()
	b := &ExportBatch{}
	first := b.add(env, gitsource.ExportSpec{Add: "a"}, "first", nil)
	_, err := llb.Scratch().File(llb.Copy(first, "/", "/x")).Marshal(context.Background())
	require.NoError(t, err)
	late := b.add(env, gitsource.ExportSpec{Add: "b"}, "late", nil)
	_, err = llb.Scratch().File(llb.Copy(late, "/", "/y")).Marshal(context.Background())
	require.ErrorContains(t, err, "git-export of late was added after the build definition was marshalled")
}
