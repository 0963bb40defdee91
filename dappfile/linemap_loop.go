package dappfile

import (
	"regexp"
	"strings"
)

// maxLoopLookback bounds how far back loopLines looks for a `range`.
const maxLoopLookback = 200

// blockActionRE finds the actions that open and close template blocks.
var blockActionRE = regexp.MustCompile(`\{\{-?\s*(if|range|with|define|block|end)\b`)

// loopLines remaps the rendered lines of a changed block that lies inside a
// `{{ range }}` loop. The LCS aligns only the first copy of the loop body;
// later copies land in the block before `{{ end }}`, and are best mapped to
// the body line they copy, going round the body again and again.
func (m *lineMap) loopLines(a, b []string, lo, hi, c, d int) {
	start := openRange(a, lo)
	if start < 0 {
		return
	}
	body := a[start+1 : hi]
	skels := make([][]string, len(body))
	for j, line := range body {
		skels[j] = skeleton(line)
	}
	cursor, copying := 0, false
	for i := c; i < d; i++ {
		j, matched := loopLine(body, skels, b[i], cursor)
		copying = copying || matched
		if copying { // before the first match, alignBlock's guess stands
			cursor, m.orig[i] = j, start+1+j+1
		}
	}
}

// loopLine picks the body line for rendered line r: the best literal match,
// the first one at or after cursor on a tie; with no match, the next
// action-only line (which likely generated r) or the cursor itself.
func loopLine(body []string, skels [][]string, r string, cursor int) (int, bool) {
	best, bestScore := -1, 0
	for k := range body {
		j := (cursor + k) % len(body)
		if s := loopScore(body[j], skels[j], r); s > bestScore {
			best, bestScore = j, s
		}
	}
	switch {
	case best >= 0:
		return best, true
	case cursor+1 < len(body) && len(skels[cursor+1]) == 0 && len(skels[cursor]) > 0:
		return cursor + 1, false
	}
	return cursor, false
}

// loopScore rates body line o (with literal fragments skel) as the source
// of rendered line r: an equal line best, then longer literal matches.
func loopScore(o string, skel []string, r string) int {
	switch {
	case strings.TrimSpace(r) == "":
		return 0
	case o == r:
		return 1000
	case literalLen(skel) >= 3 && lineScore(skel, r) > 0:
		return literalLen(skel)
	}
	return 0
}

// openRange returns the index of the innermost `{{ range }}` line before
// line lo that is still open at lo, or -1.
func openRange(a []string, lo int) int {
	depth := 0 // blocks closed between the candidate and lo
	for j := lo - 1; j >= 0 && j >= lo-maxLoopLookback; j-- {
		acts := blockActionRE.FindAllStringSubmatch(a[j], -1)
		for k := len(acts) - 1; k >= 0; k-- {
			switch act := acts[k][1]; {
			case act == "end":
				depth++
			case depth > 0:
				depth--
			case act == "range":
				return j
			}
		}
	}
	return -1
}
