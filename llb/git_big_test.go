package llb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/llb/gitllb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

// bigRepo holds 9 MB of sources: more than gitllb.DefaultMaxInlineBytes.
func bigRepo(t *testing.T) *testRepo {
	r := newTestRepo(t)
	files := map[string]string{"src/package.json": "{}\n"}
	for i := range 3 {
		b := make([]byte, 1536<<10)
		_, _ = rand.Read(b)
		files["src/blob"+string(rune('a'+i))] = hex.EncodeToString(b)
	}
	r.commit(files)
	return r
}

func TestGitBigArchiveGoesThroughHelper(t *testing.T) {
	t.Parallel()
	opt := bigRepo(t).opt()
	opt.Git.DotGit = func(context.Context) (bkllb.State, error) {
		return bkllb.Local("context", bkllb.LocalUniqueID("test")), nil
	}
	opt.Git.Helper = func(context.Context) (bkllb.State, error) { return bkllb.Image("helper:dev"), nil }
	g, _ := convert(t, gitDappfile, opt)
	_, archive := g.fileOn(t, "/app")
	require.Empty(t, mkfiles(archive), "no file data inline")
	acts := archive.GetFile().Actions
	require.Equal(t, "/app", acts[len(acts)-1].GetCopy().Dest)
	_, exec := g.runs(t, "/dapp-helper/dapp-frontend git-export ")
	require.Contains(t, exec.GetExec().Meta.Args, "/dapp-git/.git")
}

func TestGitBigArchiveWithoutHelperNamesTheWay(t *testing.T) {
	t.Parallel()
	opt := bigRepo(t).opt()
	opt.Git.DotGit = func(context.Context) (bkllb.State, error) { return bkllb.Local("context"), nil }
	opt.Git.Helper = func(context.Context) (bkllb.State, error) {
		return bkllb.State{}, errors.New("set --opt git-helper-image=IMAGE")
	}
	_, err := Convert(context.Background(), parse(t, gitDappfile), opt)
	var le *gitllb.InlineLimitError
	require.ErrorAs(t, err, &le)
	require.ErrorContains(t, err, "set --opt git-helper-image=IMAGE")
}

// TestGitPatchesInlineUpToTheirOwnLimit: with ExportPatchesAbove above
// ExportAbove, a latest patch of 200 KB travels inline (after a commit no
// container writes it), while an archive of the same size is written by
// the helper; a patch above ExportPatchesAbove is exported too.
func TestGitPatchesInlineUpToTheirOwnLimit(t *testing.T) {
	t.Parallel()
	random := func(n int) string {
		b := make([]byte, n/2)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	r := newTestRepo(t)
	r.commit(map[string]string{"src/package.json": "{}\n", "src/big.js": random(200 << 10)})
	r.commit(map[string]string{"src/big.js": random(200 << 10)})
	const dappfile = `
dimg: app
from: alpine
git:
- add: /src
  to: /app
shell:
  setup: [ls /app]
`
	for _, tc := range []struct {
		name         string
		patchesAbove int64
		inline       bool
	}{
		{"patches inline up to 1 MiB", 1 << 20, true},
		{"patches exported above 64 KiB, as archives", 0, false},
		{"patches exported above their own limit", 100 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := r.opt()
			opt.Git.DotGit = func(context.Context) (bkllb.State, error) {
				return bkllb.Local("context", bkllb.LocalUniqueID("test")), nil
			}
			opt.Git.Helper = func(context.Context) (bkllb.State, error) { return bkllb.Image("helper:dev"), nil }
			opt.Git.ExportAbove = 64 << 10
			opt.Git.ExportPatchesAbove = tc.patchesAbove
			g, _ := convert(t, dappfile, opt)
			var exported []string
			for _, o := range g.ops {
				if e := o.GetExec(); e != nil && len(e.Meta.Args) > 1 && e.Meta.Args[1] == "git-export" {
					exported = append(exported, strings.Join(e.Meta.Args, " "))
				}
			}
			require.NotEmpty(t, exported)
			archiveExported, patchExported := false, false
			for _, e := range exported {
				// a step of the batch per "--"; a patch's names the commit it starts from
				for _, step := range strings.Split(e, " -- ") {
					patch := strings.Contains(step, "--from-commit")
					archiveExported = archiveExported || !patch
					patchExported = patchExported || patch
				}
			}
			require.True(t, archiveExported, "the 200 KB archive is written by the helper: %v", exported)
			require.Equal(t, !tc.inline, patchExported, "%v", exported)
			// inline, a file that big travels as its blob, which the
			// layer copies to its place (gitllb.CopyBlobsFrom)
			blob, copied := false, false
			for _, o := range g.ops {
				if f := o.GetFile(); f != nil {
					for _, a := range f.Actions {
						if mk := a.GetMkfile(); mk != nil && strings.HasPrefix(mk.Path, gitllb.BlobsDir+"/") && len(mk.Data) == 200<<10 {
							blob = true
						}
						if cp := a.GetCopy(); cp != nil && cp.Dest == "/app/big.js" && strings.HasPrefix(cp.Src, gitllb.BlobsDir+"/") {
							copied = true
						}
					}
				}
			}
			require.Equal(t, tc.inline, blob && copied)
		})
	}
}
