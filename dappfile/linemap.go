package dappfile

import "strings"

// lineMap maps the lines of the rendered Dappfile back to the lines of the
// original file, so every error points at what the user wrote even when a
// template added or removed lines.
//
// Lines that rendering left unchanged are aligned with a longest common
// subsequence over whole lines. The changed lines between two aligned
// lines form a block; inside a block each rendered line goes to the template
// line that most likely produced it (see alignBlock).
type lineMap struct {
	orig []int  // orig[i] is the original 1-based line of rendered line i+1
	same []bool // same[i] is true when the rendered line is unchanged
	max  int    // number of original lines
}

// maxLCSCells bounds the memory of the line alignment; beyond it the
// changed middle of the file is mapped proportionally.
const maxLCSCells = 1 << 24

func newLineMap(original, rendered string) *lineMap {
	a, b := splitLines(original), splitLines(rendered)
	m := &lineMap{orig: make([]int, len(b)), same: make([]bool, len(b)), max: len(a)}
	if len(a) == len(b) {
		for i := range b {
			m.orig[i], m.same[i] = i+1, a[i] == b[i]
		}
		return m
	}
	m.alignAll(a, b)
	return m
}

func splitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// line returns the original line of rendered line n (1-based).
func (m *lineMap) line(n int) int {
	switch {
	case len(m.orig) == 0:
		return max(n, 1)
	case n < 1:
		return m.orig[0]
	case n > len(m.orig):
		return m.orig[len(m.orig)-1]
	}
	return m.orig[n-1]
}

// exact reports whether rendered line n is an unchanged original line, so
// its columns are the original columns too.
func (m *lineMap) exact(n int) bool {
	return n >= 1 && n <= len(m.same) && m.same[n-1]
}

// alignAll aligns a (original) and b (rendered): common prefix and suffix,
// then an LCS over the middle, then alignBlock between the matched lines.
func (m *lineMap) alignAll(a, b []string) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	pairs := [][2]int{}
	for i := 0; i < pre; i++ {
		pairs = append(pairs, [2]int{i, i})
	}
	for _, p := range lcsPairs(a[pre:len(a)-suf], b[pre:len(b)-suf]) {
		pairs = append(pairs, [2]int{p[0] + pre, p[1] + pre})
	}
	for i := suf; i > 0; i-- {
		pairs = append(pairs, [2]int{len(a) - i, len(b) - i})
	}
	m.fill(a, b, pairs)
}

// fill maps matched pairs directly and the blocks between them with
// alignBlock.
func (m *lineMap) fill(a, b []string, pairs [][2]int) {
	pa, pb := 0, 0
	for _, p := range append(pairs, [2]int{len(a), len(b)}) {
		m.block(a, b, pa, p[0], pb, p[1])
		if p[1] < len(b) {
			m.orig[p[1]], m.same[p[1]] = p[0]+1, true
		}
		pa, pb = p[0]+1, p[1]+1
	}
}

// block maps rendered lines b[c:d] onto original lines a[lo:hi].
func (m *lineMap) block(a, b []string, lo, hi, c, d int) {
	if c >= d {
		return
	}
	if lo >= hi { // nothing changed in the original: attach to the line before
		for i := c; i < d; i++ {
			m.orig[i] = max(lo, 1)
		}
		return
	}
	for i, j := range alignBlock(a[lo:hi], b[c:d]) {
		m.orig[c+i] = lo + j + 1
	}
	m.loopLines(a, b, lo, hi, c, d)
}

// lcsPairs returns the index pairs of a longest common subsequence of a and
// b, or nothing when the table would be too large.
func lcsPairs(a, b []string) [][2]int {
	n, m := len(a), len(b)
	if n == 0 || m == 0 || (n+1)*(m+1) > maxLCSCells {
		return nil
	}
	w := m + 1
	t := make([]int32, (n+1)*w) // t[i*w+j] = LCS of a[i:], b[j:]
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i*w+j] = t[(i+1)*w+j+1] + 1
			} else {
				t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
			}
		}
	}
	var out [][2]int
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case a[i] == b[j]:
			out = append(out, [2]int{i, j})
			i, j = i+1, j+1
		case t[(i+1)*w+j] >= t[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	return out
}
