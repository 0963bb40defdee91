package llb

import (
	"testing"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/stretchr/testify/require"
)

func TestPBRanges(t *testing.T) {
	t.Parallel()
	pos := func(l, c int) dappfile.Position { return dappfile.Position{Line: l, Column: c} }
	for _, tc := range []struct {
		name string
		in   []dappfile.Range
		want [][4]int32 // start line, start column, end line, end column
	}{
		{name: "full range", in: []dappfile.Range{{Start: pos(3, 1), End: pos(4, 7)}}, want: [][4]int32{{3, 1, 4, 7}}},
		{name: "empty end is the start", in: []dappfile.Range{{Start: pos(3, 5)}}, want: [][4]int32{{3, 5, 3, 5}}},
		{name: "no line is no location", in: []dappfile.Range{{}, {Start: pos(2, 1), End: pos(2, 4)}}, want: [][4]int32{{2, 1, 2, 4}}},
		{name: "none", in: nil, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got [][4]int32
			for _, r := range PBRanges(tc.in...) {
				got = append(got, [4]int32{r.Start.Line, r.Start.Character, r.End.Line, r.End.Character})
			}
			require.Equal(t, tc.want, got)
		})
	}
}
