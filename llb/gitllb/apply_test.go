package gitllb

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// fileOps marshals st and returns its FileOps in definition order, with
// the custom name of each.
func fileOps(t *testing.T, st llb.State) ([]*pb.FileOp, []string) {
	t.Helper()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	var ops []*pb.FileOp
	var names []string
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if f := op.GetFile(); f != nil {
			ops = append(ops, f)
			names = append(names, def.Metadata[digest.FromBytes(dt)].Description["llb.customname"])
		}
	}
	return ops, names
}

func marshalBytes(t *testing.T, st llb.State) [][]byte {
	t.Helper()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	return def.Def
}

func TestApplyArchiveLLB(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("src/a.txt", "hello")
	h.Symlink("src/a.txt", "link")
	h.Commit("init")
	m := mapping("/", "/app")
	m.Owner, m.Group = "app", "web"
	p, _ := h.plan(m, gitsource.PlanOpt{})

	st, err := Apply(llb.Image("docker.io/library/debian:bookworm"), p, p.ArchiveStep(), ApplyOpt{})
	require.NoError(t, err)
	ops, names := fileOps(t, st)
	require.Len(t, ops, 1, "one step is one FileOp, so one layer")
	require.Equal(t, "gitArchive /app at "+p.Anchor.String()[:12], names[0])

	acts := ops[0].Actions
	require.Len(t, acts, 4)
	require.Equal(t, "/app", acts[0].GetMkdir().Path)
	require.Equal(t, "/app/src", acts[1].GetMkdir().Path)
	mk := acts[3].GetMkfile()
	require.Equal(t, "/app/src/a.txt", mk.Path)
	require.Equal(t, int32(0o644), mk.Mode)
	require.Equal(t, []byte("hello"), mk.Data)
	require.Equal(t, "app", mk.Owner.User.GetByName().Name)
	require.Equal(t, "web", mk.Owner.Group.GetByName().Name)
	require.Equal(t, tuesday.UnixNano(), mk.Timestamp)
	sl := acts[2].GetSymlink()
	require.Equal(t, "src/a.txt", sl.Oldpath)
	require.Equal(t, "/app/link", sl.Newpath)
	// the first action works on base (input 0), each next one on the
	// previous action's result (numbered after the op's inputs)
	for i, a := range acts {
		require.Equal(t, int64(i), a.Input)
	}
}

func TestApplyPatchLLB(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a", "a")
	h.Write("b", "b")
	h.Commit("init")
	h.Remove("b")
	h.Write("a", "a2")
	h.Commit("change")
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	step, ok := p.LatestPatchStep()
	require.True(t, ok)

	base := llb.Scratch().File(llb.Mkdir("/base", 0o755))
	st, err := Apply(base, p, step, ApplyOpt{Constraints: []llb.ConstraintsOpt{llb.WithCustomName("[app] gitLatestPatch")}})
	require.NoError(t, err)
	ops, names := fileOps(t, st)
	require.Len(t, ops, 2)
	require.Equal(t, "[app] gitLatestPatch", names[1], "the caller's name wins")
	acts := ops[1].Actions
	require.Equal(t, "/app/b", acts[0].GetRm().Path)
	require.True(t, acts[0].GetRm().AllowNotFound)
	require.Equal(t, "/app", acts[1].GetMkdir().Path)
	require.Equal(t, "/app/a", acts[2].GetMkfile().Path)
	require.Nil(t, acts[2].GetMkfile().Owner)
}

func TestApplyUnchangedStepAddsNoLayer(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a", "a")
	c := h.Commit("init")
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	base := llb.Image("docker.io/library/alpine")
	st, err := Apply(base, p, gitsource.PlanStep{Kind: gitsource.StepLatestPatch, From: c, To: c}, ApplyOpt{})
	require.NoError(t, err)
	require.Equal(t, marshalBytes(t, base), marshalBytes(t, st))
}

func TestApplyInlineLimit(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a", "12345")
	h.Commit("init")
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	_, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 4})
	var le *InlineLimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, gitsource.StepArchive, le.Step.Kind)
	require.ErrorContains(t, err, "gitArchive of git mapping holds 5 bytes of sources, more than the 4 bytes")
}

func TestChownOpt(t *testing.T) {
	t.Parallel()
	tcs := []struct {
		owner, group  string
		user, grp     string
		uid, gid      uint32
		noChown, noGr bool
	}{
		{noChown: true},
		{owner: "app", user: "app", noGr: true},
		{owner: "1000", group: "1000", uid: 1000, gid: 1000},
		{group: "web", uid: 0, grp: "web"},
	}
	for _, tc := range tcs {
		co := ChownOpt(tc.owner, tc.group)
		if tc.noChown {
			require.Nil(t, co)
			continue
		}
		require.Equal(t, tc.user, co.User.Name)
		require.Equal(t, int(tc.uid), co.User.UID)
		if tc.noGr {
			require.Nil(t, co.Group)
			continue
		}
		require.Equal(t, tc.grp, co.Group.Name)
		require.Equal(t, int(tc.gid), co.Group.UID)
	}
}

// chainState applies every step of p the way the stage code does, with a
// stand-in exec for install and setup.
func chainState(t *testing.T, p *gitsource.MappingPlan) llb.State {
	t.Helper()
	st := llb.Image("docker.io/library/debian:bookworm")
	apply := func(step gitsource.PlanStep) {
		var err error
		st, err = Apply(st, p, step, ApplyOpt{})
		require.NoError(t, err)
	}
	apply(p.ArchiveStep())
	for _, s := range []dappfile.StageName{dappfile.Install, dappfile.BeforeSetup, dappfile.Setup} {
		if step, ok := p.PatchBefore(s); ok {
			apply(step)
		}
		st = st.Run(llb.Shlex("true " + string(s))).Root()
	}
	if step, ok := p.CacheStep(); ok {
		apply(step)
	}
	if step, ok := p.LatestPatchStep(); ok {
		apply(step)
	}
	return st
}

// TestApplyDeterministic marshals the same plan 25 times, like Dalec's
// requireDeterministicLLB: map iteration in Go is random, so one equal
// pair proves little. Plans of a clone must give the same bytes too (R4).
func TestApplyDeterministic(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	for i, f := range []string{"package.json", "src/a", "src/b", "c/d/e", "z"} {
		h.Write(f, f)
		h.Commit("add " + f)
		if i == 2 {
			h.Write("package.json", "v2")
			h.Commit("deps")
		}
	}
	m := depsMapping()
	m.Owner = "app"
	want := marshalBytes(t, chainState(t, mustPlan(t, h.Dir, m)))
	for i := 0; i < 25; i++ {
		require.Equal(t, want, marshalBytes(t, chainState(t, mustPlan(t, h.Dir, m))))
	}

	clone := t.TempDir()
	gittest.Run(t, clone, tuesday, "clone", "-q", h.Dir, ".")
	require.Equal(t, want, marshalBytes(t, chainState(t, mustPlan(t, clone, m))))
}

// TestUnrelatedCommitKeepsInstall checks R1 and R2 on the LLB: after an
// unrelated commit every vertex up to setup keeps its digest and exactly
// one new FileOp (the latest patch) appears, holding only the new file.
func TestUnrelatedCommitKeepsInstall(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("package.json", "{}")
	h.Write("src/a", "a")
	h.Commit("init")
	m := depsMapping()
	before := digests(t, chainState(t, mustPlan(t, h.Dir, m)))

	h.Write("docs/new.md", "10 KB of docs")
	h.Commit("docs")
	afterSt := chainState(t, mustPlan(t, h.Dir, m))
	after := digests(t, afterSt)
	var added []digest.Digest
	for d := range after {
		if !before[d] {
			added = append(added, d)
		}
	}
	require.Len(t, added, 2, "the new FileOp and the definition's terminal op")
	ops, _ := fileOps(t, afterSt)
	last := ops[len(ops)-1]
	require.Len(t, last.Actions, 3)
	require.Equal(t, "/app/docs/new.md", last.Actions[2].GetMkfile().Path)
}

func digests(t *testing.T, st llb.State) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	for _, dt := range marshalBytes(t, st) {
		out[digest.FromBytes(dt)] = true
	}
	return out
}

func TestApplyStepsOneLayerForSeveralMappings(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("web/index.html", "<html>")
	h.Write("conf/app.ini", "x=1")
	h.Commit("init")
	repo := h.open()
	head, err := repo.Head()
	require.NoError(t, err)
	web := mapping("/web", "/srv/www")
	web.Owner = "www"
	conf := mapping("/conf", "/etc/app")
	pw, _, err := gitsource.Plan(repo, head, web, gitsource.PlanOpt{})
	require.NoError(t, err)
	pc, _, err := gitsource.Plan(repo, head, conf, gitsource.PlanOpt{})
	require.NoError(t, err)

	st, err := ApplySteps(llb.Scratch(), []gitsource.MappingStep{
		{Plan: pw, Step: pw.ArchiveStep()},
		{Plan: pc, Step: pc.ArchiveStep()},
	}, ApplyOpt{})
	require.NoError(t, err)
	ops, names := fileOps(t, st)
	require.Len(t, ops, 1)
	require.Contains(t, names[0], "gitArchive /srv/www at ")
	require.Contains(t, names[0], ", gitArchive /etc/app at ")
	var paths []string
	for _, a := range ops[0].Actions {
		if mk := a.GetMkfile(); mk != nil {
			paths = append(paths, mk.Path)
			if mk.Path == "/srv/www/index.html" {
				require.Equal(t, "www", mk.Owner.User.GetByName().Name)
			} else {
				require.Nil(t, mk.Owner)
			}
		}
	}
	require.Equal(t, []string{"/srv/www/index.html", "/etc/app/app.ini"}, paths)

	_, err = ApplySteps(llb.Scratch(), []gitsource.MappingStep{
		{Plan: pw, Step: pw.ArchiveStep()},
		{Plan: pc, Step: pc.ArchiveStep()},
	}, ApplyOpt{MaxInlineBytes: 8})
	var le *InlineLimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, int64(9), le.Bytes, "6 bytes of index.html and 3 of app.ini")
}

func TestApplyParentsOfToKeepTheirOwner(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("a", "a")
	h.Commit("init")
	m := mapping("/", "/opt/lib")
	m.Owner = "app"
	p, _ := h.plan(m, gitsource.PlanOpt{})
	st, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{})
	require.NoError(t, err)
	ops, _ := fileOps(t, st)
	acts := ops[0].Actions
	require.Equal(t, "/opt", acts[0].GetMkdir().Path)
	require.Nil(t, acts[0].GetMkdir().Owner)
	require.Equal(t, "/opt/lib", acts[1].GetMkdir().Path)
	require.Equal(t, "app", acts[1].GetMkdir().Owner.User.GetByName().Name)
	require.Equal(t, "gitArchive@"+p.Anchor.String()[:12], p.ArchiveStep().String())
}

// TestApplyCopiesBigFilesFromTheirBlobs: a file from CopyBlobsFrom up is
// copied from the state a BlobSource gives for its blob, its content left
// out of the definition; with no such state it is copied from a FileOp
// that writes the blob at the same path. The copy's mode, owner and time
// are the file's, as a mkfile's would be; a smaller file is written
// inline.
func TestApplyCopiesBigFilesFromTheirBlobs(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	big := string(make([]byte, CopyBlobsFrom))
	h.Write("big.bin", big)
	h.Write("small.txt", "small")
	h.Commit("init")
	m := mapping("/", "/app")
	m.Owner = "app"
	p, _ := h.plan(m, gitsource.PlanOpt{})
	blob := plumbing.ComputeHash(plumbing.BlobObject, []byte(big))
	held := llb.Image("registry.example/held:1")
	for name, tc := range map[string]struct {
		blobs BlobSource
		// fromHeld: the copy reads the held state, and the content is
		// nowhere in the definition
		fromHeld bool
	}{
		"held":      {blobs: func(h plumbing.Hash) (llb.State, bool) { return held, h == blob }, fromHeld: true},
		"not held":  {blobs: func(plumbing.Hash) (llb.State, bool) { return llb.State{}, false }},
		"no source": {},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := Apply(llb.Scratch(), p, p.ArchiveStep(), ApplyOpt{Blobs: tc.blobs})
			require.NoError(t, err)
			def, err := st.Marshal(context.Background())
			require.NoError(t, err)
			all := string(bytes.Join(def.Def, nil))
			require.Equal(t, !tc.fromHeld, strings.Contains(all, big), "the blob's content in the definition")
			require.Equal(t, tc.fromHeld, strings.Contains(all, "registry.example/held:1"))
			ops, _ := fileOps(t, st)
			layer := ops[len(ops)-1]
			var cp *pb.FileActionCopy
			for _, a := range layer.Actions {
				if mk := a.GetMkfile(); mk != nil {
					require.Equal(t, "/app/small.txt", mk.Path, "only the small file inline")
				}
				if c := a.GetCopy(); c != nil {
					cp = c
				}
			}
			require.NotNil(t, cp)
			require.Equal(t, BlobPath(blob), cp.Src)
			require.Equal(t, "/app/big.bin", cp.Dest)
			require.Equal(t, int32(0o644), cp.Mode)
			require.Equal(t, "app", cp.Owner.User.GetByName().Name)
			require.Equal(t, tuesday.UnixNano(), cp.Timestamp)
			require.True(t, cp.AlwaysReplaceExistingDestPaths)
			if !tc.fromHeld {
				blobOp := ops[0]
				require.Equal(t, BlobPath(blob), blobOp.Actions[1].GetMkfile().Path)
				require.Equal(t, int32(0o644), blobOp.Actions[1].GetMkfile().Mode)
				require.Nil(t, blobOp.Actions[1].GetMkfile().Owner, "the blob is root's wherever it comes from")
			}
		})
	}
}
