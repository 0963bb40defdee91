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
// .git, and so are the steps of an image before its git stages; the
// build's definition builds on those very vertices.
func TestBuildSolvesGitFreePartsEarly(t *testing.T) {
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
  beforeInstall: [apk add git]
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
	var base, prefix, final *pb.Definition
	for _, def := range c.solved {
		switch text := bytes.Join(def.Def, nil); {
		case bytes.Contains(text, []byte("npm ci")):
			final = def
		case bytes.Contains(text, []byte("apk add git")):
			prefix = def
		case bytes.Contains(text, []byte("apk add nodejs")):
			base = def
		}
	}
	require.NotNil(t, final, "the build was not solved")
	_, finalOps, _ := heads(final)
	for _, tc := range []struct {
		what  string
		def   *pb.Definition
		execs int
	}{
		{"the base", base, 1},
		{"app's steps before git", prefix, 2},
	} {
		require.NotNil(t, tc.def, "%s was not solved on its own", tc.what)
		head, _, execs := heads(tc.def)
		require.Equal(t, tc.execs, execs, "%s: steps solved early", tc.what)
		require.True(t, finalOps[head], "the build does not build on the vertex of %s solved early", tc.what)
	}
}
