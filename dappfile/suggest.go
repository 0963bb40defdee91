package dappfile

import (
	"fmt"
	"strings"
)

// didYouMean returns " (did you mean "x"?)" naming the option closest to
// got, or "" when none is close. Case differences alone always match, so
// `env` suggests `ENV`. It does not use BuildKit's util/suggest because this
// package must not import BuildKit (see STYLE.md, Layout).
func didYouMean(got string, options []string) string {
	if best := suggest(got, options); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// suggest returns the option closest to got within a small edit distance.
func suggest(got string, options []string) string {
	best, bestDist := "", maxSuggestDistance(got)+1
	for _, o := range options {
		if o == got {
			continue
		}
		d := editDistance(strings.ToLower(got), strings.ToLower(o))
		if d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

// maxSuggestDistance keeps suggestions for short words meaningful: "to" must
// not suggest "as".
func maxSuggestDistance(got string) int {
	if len(got) < 5 {
		return 1
	}
	return 2
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
