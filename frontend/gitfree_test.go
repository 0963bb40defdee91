package frontend

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/flant/dapp-frontend/internal/gittest"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// stubOfRepo is a stub whose every local source is the work tree of dir,
// .git included, with the Dappfile beside it.
func stubOfRepo(t *testing.T, dir, dappfile string) *stubClient {
	t.Helper()
	m := fstest.MapFS{"Dappfile": &fstest.MapFile{Data: []byte(dappfile), Mode: 0o644}}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	}))
	return &stubClient{files: m, opts: map[string]string{}}
}

// A base that needs no git is solved on its own, beside the reading of
// .git, and the build's definition builds on that very vertex; an image
// that maps git is not.
func TestBuildSolvesGitFreeBasesEarly(t *testing.T) {
	t.Parallel()
	h := gittest.New(t)
	h.Write("package.json", "{}")
	h.Commit("first")
	const text = `artifact: node
from: alpine
shell:
  beforeInstall: [apk add nodejs]
---
dimg: app
fromDimgArtifact: node
git:
- add: /
  to: /app
shell:
  install: [cd /app && npm ci]
`
	c := stubOfRepo(t, h.Dir, text)
	_, err := Build(context.Background(), c)
	require.NoError(t, err)

	heads := func(def *pb.Definition) (last digest.Digest, all map[digest.Digest]bool, execs int) {
		all = map[digest.Digest]bool{}
		for _, dt := range def.Def {
			var op pb.Op
			require.NoError(t, op.UnmarshalVT(dt))
			d := digest.FromBytes(dt)
			all[d] = true
			if op.GetExec() != nil {
				execs++
			}
			if len(op.Inputs) == 1 && op.Op == nil {
				last = digest.Digest(op.Inputs[0].Digest)
			}
		}
		return last, all, execs
	}
	var base, final *pb.Definition
	for _, def := range c.solved {
		switch text := string(bytes.Join(def.Def, nil)); {
		case bytes.Contains([]byte(text), []byte("npm ci")):
			final = def
		case bytes.Contains([]byte(text), []byte("apk add nodejs")):
			base = def
		}
	}
	require.NotNil(t, base, "the base was not solved on its own")
	require.NotNil(t, final, "the build was not solved")
	baseHead, _, execs := heads(base)
	require.Equal(t, 1, execs, "the base's solve holds its own step alone")
	_, finalOps, _ := heads(final)
	require.True(t, finalOps[baseHead], "the build does not build on the vertex solved early")
}
