package gitllb

import (
	"context"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

const commitA = "0123456789abcdef0123456789abcdef01234567"

type fakeResolver struct {
	gotID string
	resp  *sourceresolver.MetaResponse
	err   error
}

func (f *fakeResolver) ResolveSourceMetadata(_ context.Context, op *pb.SourceOp, opt sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	f.gotID = op.Identifier
	if opt.GitOpt == nil {
		return nil, errors.New("git options missing")
	}
	return f.resp, f.err
}

func gitResponse(commit string) *sourceresolver.MetaResponse {
	return &sourceresolver.MetaResponse{Git: &sourceresolver.ResolveGitResponse{Checksum: "tagobject", CommitChecksum: commit}}
}

func TestResolveRemote(t *testing.T) {
	t.Parallel()
	tcs := []struct {
		name     string
		m        dappfile.GitMapping
		resolver *fakeResolver
		wantID   string
		want     string
		err      string
	}{
		{
			name:     "tag",
			m:        dappfile.GitMapping{URL: "https://github.com/org/lib.git", Tag: "v1.2.0"},
			resolver: &fakeResolver{resp: gitResponse(commitA)},
			wantID:   "git://github.com/org/lib.git#v1.2.0",
			want:     commitA,
		},
		{
			name:     "default branch",
			m:        dappfile.GitMapping{URL: "https://github.com/org/lib.git"},
			resolver: &fakeResolver{resp: gitResponse(commitA)},
			wantID:   "git://github.com/org/lib.git",
			want:     commitA,
		},
		{
			name:     "full commit needs no resolver",
			m:        dappfile.GitMapping{URL: "https://github.com/org/lib.git", Commit: commitA},
			resolver: &fakeResolver{err: errors.New("must not be called")},
			want:     commitA,
		},
		{
			name:     "resolver error",
			m:        dappfile.GitMapping{URL: "https://github.com/org/lib.git", Branch: "main"},
			resolver: &fakeResolver{err: errors.New("authentication required")},
			err:      "failed to resolve main of https://github.com/org/lib.git: authentication required",
		},
		{
			name:     "not a commit",
			m:        dappfile.GitMapping{URL: "https://github.com/org/lib.git", Branch: "main"},
			resolver: &fakeResolver{resp: gitResponse("abc")},
			err:      `failed to resolve main of https://github.com/org/lib.git: got "abc"`,
		},
	}
	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ResolveRemote(context.Background(), tc.resolver, &tc.m, RemoteOpt{})
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantID, tc.resolver.gotID)
		})
	}
}

func sourceOps(t *testing.T, st llb.State) []*pb.SourceOp {
	t.Helper()
	var out []*pb.SourceOp
	for _, dt := range marshalBytes(t, st) {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if s := op.GetSource(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func TestRemoteSourceAndCopy(t *testing.T) {
	t.Parallel()
	m := &dappfile.GitMapping{
		URL: "https://github.com/org/lib.git", Tag: "v1.2.0", Add: "/pkg", To: "/opt/lib",
		IncludePaths: []string{"/src", "**/*.go"}, ExcludePaths: []string{"testdata"}, Owner: "app",
	}
	src := RemoteSource(m, commitA, RemoteOpt{})
	st := CopyMapping(llb.Image("docker.io/library/alpine"), src, m)

	var git *pb.SourceOp
	for _, s := range sourceOps(t, st) {
		if strings.HasPrefix(s.Identifier, "git://") {
			git = s
		}
	}
	require.NotNil(t, git)
	require.Equal(t, "git://github.com/org/lib.git#v1.2.0", git.Identifier)
	require.Equal(t, commitA, git.Attrs[pb.AttrGitChecksum])
	require.Equal(t, "https://github.com/org/lib.git", git.Attrs[pb.AttrFullRemoteURL])
	require.Equal(t, "GIT_AUTH_TOKEN", git.Attrs[pb.AttrAuthTokenSecret])
	require.Empty(t, git.Attrs[pb.AttrKeepGitDir])

	ops, names := fileOps(t, st)
	require.Len(t, ops, 1)
	require.Equal(t, "git https://github.com/org/lib.git@v1.2.0:/pkg → /opt/lib", names[0])
	cp := ops[0].Actions[0].GetCopy()
	require.Equal(t, "/pkg", cp.Src)
	require.Equal(t, "/opt/lib", cp.Dest)
	require.True(t, cp.DirCopyContents)
	require.True(t, cp.CreateDestPath)
	require.Equal(t, []string{"src", "**/*.go"}, cp.IncludePatterns)
	require.Equal(t, []string{"testdata"}, cp.ExcludePatterns)
	require.Equal(t, "app", cp.Owner.User.GetByName().Name)

	// The default branch is pinned by commit.
	def := RemoteSource(&dappfile.GitMapping{URL: "https://github.com/org/lib.git"}, commitA, RemoteOpt{})
	require.Equal(t, "git://github.com/org/lib.git#"+commitA, sourceOps(t, def)[0].Identifier)
}
