package dappfile

import (
	"strings"
	tparse "text/template/parse"
)

// unclosedAction finds the first `{{` whose action another `{{` or the
// end of the text interrupts before a `}}` closes it. text/template reports
// such a mistake where it gives up, often lines later and as an unknown
// function; the opening is where the user must look. Quotes and comments
// inside actions are skipped, so a `}}` in a string does not close it.
func unclosedAction(text string) (Position, bool) {
	line, col := 1, 1
	var open Position
	inside := false
	for i := 0; i < len(text); i++ {
		rest := text[i:]
		switch {
		case !inside && strings.HasPrefix(rest, "{{"):
			open, inside = Position{Line: line, Column: col}, true
			i, col = i+1, col+1
		case inside && strings.HasPrefix(rest, "{{"):
			return open, true
		case inside && strings.HasPrefix(rest, "}}"):
			inside = false
			i, col = i+1, col+1
		case inside && strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				return open, true
			}
			skipped := rest[:end+4]
			line, col = advance(line, col, skipped[:len(skipped)-1])
			i += len(skipped) - 1
		case inside && (rest[0] == '"' || rest[0] == '`' || rest[0] == '\''):
			n := quotedLen(rest)
			if n < 0 {
				return open, true
			}
			line, col = advance(line, col, rest[:n-1])
			i += n - 1
		}
		if text[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return open, inside
}

// quotedLen is the length of the quoted string at the start of s, or -1
// when it does not end. "..." and '...' end at the line's end.
func quotedLen(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i + 1
		case s[i] == '\n' && q != '`':
			return -1
		}
	}
	return -1
}

// advance moves a position over s.
func advance(line, col int, s string) (int, int) {
	if n := strings.Count(s, "\n"); n > 0 {
		return line + n, len(s) - strings.LastIndex(s, "\n")
	}
	return line, col + len(s)
}

// maxUnclosedBlocks bounds how many `{{ end }}`s unclosedBlock tries to
// add: each try is one parse of the whole text.
const maxUnclosedBlocks = 8

// unclosedBlock finds the block action ({{ if }}, {{ range }}, {{ with }})
// that is still open where the text ends. text/template reports a missing
// `{{ end }}` as "unexpected EOF" at the last line, which says nothing of
// where the block began. Adding `{{ end }}`s until the text parses tells how
// many blocks are open; since an `{{ end }}` closes the innermost open block,
// the outermost open one is the last node of the top level. It returns the
// block's keyword, the position of its `{{` and the number of open blocks.
// A `{{ define }}` or `{{ block }}` left open is not found (ok is false).
func unclosedBlock(text string) (keyword string, at Position, open int, ok bool) {
	for k := 1; k <= maxUnclosedBlocks; k++ {
		t := tparse.New("t")
		t.Mode = tparse.SkipFuncCheck
		if _, err := t.Parse(text+strings.Repeat("{{end}}", k), "", "", map[string]*tparse.Tree{}); err != nil {
			if strings.Contains(err.Error(), "unexpected EOF") {
				continue
			}
			return "", Position{}, 0, false
		}
		if t.Root == nil || len(t.Root.Nodes) == 0 {
			return "", Position{}, 0, false
		}
		var pos tparse.Pos
		switch n := t.Root.Nodes[len(t.Root.Nodes)-1].(type) {
		case *tparse.IfNode:
			keyword, pos = "if", n.Pos
		case *tparse.RangeNode:
			keyword, pos = "range", n.Pos
		case *tparse.WithNode:
			keyword, pos = "with", n.Pos
		default:
			return "", Position{}, 0, false
		}
		// the node's position is inside the action; point at its `{{`
		start := strings.LastIndex(text[:min(int(pos), len(text))], "{{")
		if start < 0 {
			return "", Position{}, 0, false
		}
		line, col := advance(1, 1, text[:start])
		return keyword, Position{Line: line, Column: col}, k, true
	}
	return "", Position{}, 0, false
}
