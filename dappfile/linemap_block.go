package dappfile

import "strings"

// alignBlock maps every rendered line of a changed block to an index into
// the block's original lines. The mapping never goes backwards. A rendered
// line scores best on an original line whose literal text (the text outside
// `{{ }}` actions) it contains in order; lines made only of actions, such
// as `{{ include "x" . }}`, are the likely source of any other generated
// line.
func alignBlock(orig, rendered []string) []int {
	out := make([]int, len(rendered))
	if len(orig) == len(rendered) {
		for i := range out {
			out[i] = i
		}
		return out
	}
	if len(orig) == 1 || len(orig)*len(rendered) > maxLCSCells/16 {
		for i := range out {
			out[i] = i * len(orig) / len(rendered)
		}
		return out
	}
	skels := make([][]string, len(orig))
	for j, o := range orig {
		skels[j] = skeleton(o)
	}
	return bestMonotone(skels, rendered)
}

// bestMonotone picks, for each rendered line, an original line index so that
// indexes never decrease and the total score is highest. A line with literal
// text scores only for the first rendered line it gets: it renders to one
// line, while an action-only line may render to many.
func bestMonotone(skels [][]string, rendered []string) []int {
	n, m := len(skels), len(rendered)
	score := make([][]int, m) // best total with rendered i on original j
	back := make([][]int, m)  // original index chosen for rendered i-1
	for i, r := range rendered {
		score[i], back[i] = make([]int, n), make([]int, n)
		bestPrev, bestJ := -1, 0 // best of row i-1 over indexes < j
		for j := 0; j < n; j++ {
			first := lineScore(skels[j], r)
			score[i][j], back[i][j] = first, bestJ
			if i > 0 {
				score[i][j] = bestPrev + first // bestPrev < 0: no earlier line
				if j == 0 {
					score[i][j] = -1
				}
				if rep := score[i-1][j] + repeatScore(skels[j], r); rep >= score[i][j] {
					score[i][j], back[i][j] = rep, j
				}
				if score[i-1][j] > bestPrev {
					bestPrev, bestJ = score[i-1][j], j
				}
			}
		}
	}
	return backtrack(score, back)
}

// repeatScore rates a second rendered line on the same original line: fine
// for action-only lines and for lines with enough literal text to be sure
// (`- to: /app{{ $i }}` inside a range), not for a bare `- {{ .x }}`, which
// would swallow every list item an include produces after it.
func repeatScore(skel []string, r string) int {
	if len(skel) == 0 {
		return 1
	}
	if literalLen(skel) < minRepeatLiteral {
		return 0
	}
	return lineScore(skel, r)
}

// minRepeatLiteral is the literal text a template line needs before it may
// be matched by several rendered lines.
const minRepeatLiteral = 5

func literalLen(skel []string) int {
	n := 0
	for _, f := range skel {
		n += len(strings.TrimSpace(f))
	}
	return n
}

func backtrack(score, back [][]int) []int {
	m := len(score)
	out := make([]int, m)
	for j := range score[m-1] {
		if score[m-1][j] > score[m-1][out[m-1]] {
			out[m-1] = j
		}
	}
	for i := m - 1; i > 0; i-- {
		out[i-1] = back[i][out[i]]
	}
	return out
}

// lineScore rates how likely the original line with literal fragments skel
// produced the rendered line r.
func lineScore(skel []string, r string) int {
	if len(skel) == 0 {
		return 1 // an action-only line: it may expand to anything
	}
	rest := strings.TrimRight(r, " \t")
	for _, frag := range skel {
		at := strings.Index(rest, frag)
		if at < 0 {
			return 0
		}
		rest = rest[at+len(frag):]
	}
	return 4
}

// skeleton returns the literal fragments of a template line: the text
// outside `{{ }}` actions, without blank fragments. A line with no action
// is its own single fragment.
func skeleton(line string) []string {
	var out []string
	for {
		open := strings.Index(line, "{{")
		if open < 0 {
			break
		}
		out = appendFragment(out, line[:open])
		end := strings.Index(line[open:], "}}")
		if end < 0 {
			return out // the action goes on past this line
		}
		line = line[open+end+2:]
	}
	return appendFragment(out, line)
}

func appendFragment(out []string, frag string) []string {
	frag = strings.TrimRight(frag, " \t")
	if strings.TrimSpace(frag) == "" {
		return out
	}
	return append(out, frag)
}
