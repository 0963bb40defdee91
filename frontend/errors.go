package frontend

import (
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
)

// wrapSource attaches the Dappfile and the failing ranges to a conversion
// error, so buildx and buildctl print the offending lines.
func wrapSource(err error, sm *bkllb.SourceMap) error {
	if err == nil || sm == nil || len(errdefs.Sources(err)) > 0 {
		return err
	}
	ranges := dappfile.Locations(err)
	if len(ranges) == 0 {
		return err
	}
	src := &errdefs.Source{
		Info: &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language, Definition: sm.Definition.ToPB()},
	}
	for _, r := range ranges {
		src.Ranges = append(src.Ranges, pbRange(r))
	}
	return errdefs.WithSource(err, src)
}

func pbRange(r dappfile.Range) *pb.Range {
	end := r.End
	if end.Line == 0 {
		end = r.Start
	}
	return &pb.Range{
		Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Column)},
		End:   &pb.Position{Line: int32(end.Line), Character: int32(end.Column)},
	}
}

func warnOpts(r dappfile.Range) gwclient.WarnOpts {
	opts := gwclient.WarnOpts{Level: 1}
	if r.Start.Line > 0 {
		opts.Range = []*pb.Range{pbRange(r)}
	}
	return opts
}
