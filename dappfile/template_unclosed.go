package dappfile

import "strings"

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
