package frontend

import (
	"context"
	"errors"
	"fmt"
	"testing"

	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExplainStepNamesImageStageAndCommands(t *testing.T) {
	t.Parallel()
	st := bkllb.Image("alpine").Run(bkllb.Args([]string{"/bin/sh", "-ec", "make\nexit 3"}),
		bkllb.WithCustomName("[app] install: make; exit 3")).Root()
	def, err := st.Marshal(context.Background())
	require.NoError(t, err)
	var execDigest digest.Digest
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if op.GetExec() != nil {
			execDigest = digest.FromBytes(dt)
		}
	}
	require.NotEmpty(t, execDigest)

	cause := errors.New(`process "/bin/sh -ec make\nexit 3" did not complete successfully: exit code: 3`)
	err = explainStep(errdefs.WrapVertex(cause, execDigest), def)
	require.EqualError(t, err, `[app] install: make; exit 3: process "/bin/sh -ec make\nexit 3" did not complete successfully: exit code: 3`)
	var ve *errdefs.VertexError
	require.True(t, errors.As(err, &ve), "the vertex stays attached")

	// A vertex of another definition, or no vertex at all, is left alone.
	other := errdefs.WrapVertex(cause, digest.FromString("other"))
	require.Same(t, other, explainStep(other, def))
	require.Same(t, cause, explainStep(cause, def))
}

// An error wrapping one from the daemon keeps its whole message across
// the gateway, with the daemon error's code and details still attached.
func TestKeepMessage(t *testing.T) {
	t.Parallel()
	daemon := grpcerrors.FromGRPC(status.Error(codes.NotFound, "127.0.0.1:5000/app:1: not found"))
	wrapped := fmt.Errorf("Dappfile:2:7: failed to resolve base image %q: %w", "127.0.0.1:5000/app:1", daemon)
	got := grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), keepMessage(wrapped)))
	require.Equal(t, codes.NotFound, grpcerrors.Code(got))
	require.ErrorContains(t, got, `Dappfile:2:7: failed to resolve base image "127.0.0.1:5000/app:1": `)
	require.ErrorContains(t, got, "127.0.0.1:5000/app:1: not found")
	// without keepMessage only the daemon's words would cross
	lost := grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), wrapped))
	require.NotContains(t, lost.Error(), "Dappfile:2:7")

	plain := errors.New("no Dappfile")
	require.Same(t, plain, keepMessage(plain))
	require.NoError(t, keepMessage(nil))
}
