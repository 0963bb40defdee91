package frontend

import (
	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
)

// wrapSource is where errors leave the frontend: it names the Dappfile in
// every located message (below the frontend ranges carry no file name)
// and attaches the file and the failing ranges, so buildx and buildctl
// print the offending lines.
func wrapSource(err error, sm *bkllb.SourceMap) error {
	if err == nil || sm == nil {
		return err
	}
	err = dappfile.WithFilename(err, sm.Filename)
	if len(errdefs.Sources(err)) > 0 {
		return err
	}
	ranges := dappllb.PBRanges(dappfile.Locations(err)...)
	if len(ranges) == 0 {
		return err
	}
	return errdefs.WithSource(err, &errdefs.Source{
		Info:   &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language, Definition: sm.Definition.ToPB()},
		Ranges: ranges,
	})
}

func warnOpts(r dappfile.Range) gwclient.WarnOpts {
	return gwclient.WarnOpts{Level: 1, Range: dappllb.PBRanges(r)}
}
