package llb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
