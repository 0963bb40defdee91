package frontend

import (
	"errors"

	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/grpc/status"
)

// explainStep names the step a solve error comes from. BuildKit's own
// message says only what the process did ("process \"/bin/sh -ec ...\" did
// not complete successfully: exit code: 3"); the step's progress name says
// which image and stage it belongs to and which commands it ran
// ("[app] install: make; make test"), and the error already carries the
// stage's Dappfile lines. The vertex digest travels with the error, so the
// name is looked up in the definition that was solved.
func explainStep(err error, def *bkllb.Definition) error {
	var ve *errdefs.VertexError
	if err == nil || def == nil || !errors.As(err, &ve) || ve.Vertex == nil {
		return err
	}
	md, ok := def.Metadata[digest.Digest(ve.Digest)]
	if !ok {
		return err
	}
	name := md.Description["llb.customname"]
	if name == "" {
		return err
	}
	return explain(name+": "+err.Error(), err)
}

// explain gives err, an error BuildKit reported, the message msg while
// everything BuildKit attached to it (vertex, source ranges, the failed
// op for debuggers) stays reachable through Unwrap. An empty msg is err's
// own message, read when asked: a Dappfile location in err gets its file
// name only where errors leave the frontend (dappfile.WithFilename).
func explain(msg string, err error) error {
	return &explained{msg: msg, err: err}
}

type explained struct {
	msg string
	err error
}

func (e *explained) Error() string {
	if e.msg == "" {
		return e.err.Error()
	}
	return e.msg
}
func (e *explained) Unwrap() error { return e.err }

// GRPCStatus carries msg across the gateway: BuildKit sends the status of
// the first error in the chain that has one, which would otherwise be
// the daemon's own and its shorter message.
func (e *explained) GRPCStatus() *status.Status {
	return status.New(grpcerrors.Code(e.err), e.Error())
}

// keepMessage makes the whole of err's message reach the client. When err
// wraps an error that came from the daemon (a failed resolve or solve),
// BuildKit would send that error's status, and with it only the daemon's
// words, dropping what the frontend added (the Dappfile line, the image).
func keepMessage(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := grpcerrors.AsGRPCStatus(err); ok && st != nil && st.Message() != err.Error() {
		return explain(err.Error(), err)
	}
	return err
}
