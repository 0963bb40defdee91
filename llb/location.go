package llb

import (
	"github.com/flant/dapp-frontend/dappfile"
	"github.com/moby/buildkit/solver/pb"
)

// PBRanges is the one conversion of Dappfile ranges to BuildKit's, for
// vertex locations, source-mapped errors, warnings and the outline. A range
// without a line (the zero Range: "somewhere in the file") is left out; a
// range without an end is the point at its start, because BuildKit's
// readers take Start..End as given and an End of 0:0 lies before Start.
func PBRanges(ranges ...dappfile.Range) []*pb.Range {
	var out []*pb.Range
	for _, r := range ranges {
		if r.Start.Line == 0 {
			continue
		}
		end := r.End
		if end.Line == 0 {
			end = r.Start
		}
		out = append(out, &pb.Range{
			Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Column)},
			End:   &pb.Position{Line: int32(end.Line), Character: int32(end.Column)},
		})
	}
	return out
}
