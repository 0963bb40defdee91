package dappfile

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Checks around yaml.v3, whose own reports are located at 1:1 (bad
// characters) or a line early (its parser errors count lines from 0, and
// name where the enclosing block starts rather than the problem).

// badYAMLChar finds the first byte sequence YAML does not allow: invalid
// UTF-8, or a character outside YAML's printable set (control characters
// other than tab, line feed and carriage return; DEL; C1 controls but
// NEL; surrogates; U+FFFE and U+FFFF). It returns the 1-based line and
// column (in characters) and a description.
func badYAMLChar(text string) (line, col int, what string, found bool) {
	line, col = 1, 1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("invalid UTF-8 (byte 0x%02x): the file must be UTF-8", text[i]), true
		case !yamlPrintable(r):
			return line, col, fmt.Sprintf("character %U is not allowed in YAML (no control characters other than tab and line breaks); write it as an escape (\"\\x%02X\") in a double-quoted string if it must be in a value", r, r), true
		case r == '\n':
			line, col = line+1, 0
		}
		col++
		i += size
	}
	return 0, 0, "", false
}

func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// yamlLineRE finds the line in yaml.v3's syntax errors ("yaml: line 3: ...").
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlMessage splits a yaml.v3 error into its line (0 when it names none)
// and its message.
func yamlMessage(err error) (int, string) {
	msg, line := err.Error(), 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return line, strings.TrimPrefix(msg, "yaml: ")
}

// syntaxErrorLine finds the line (1-based, in text) where the YAML error
// msg really is: the first line at which a prefix of the document fails
// with the same message. yaml.v3's own line is a lower bound; the search
// goes forward from it, doubling its step and then halving it, so it
// parses only a logarithmic number of prefixes.
func syntaxErrorLine(text string, hint int, msg string) int {
	lines := strings.SplitAfter(text, "\n")
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if err == nil {
			return false
		}
		_, m := yamlMessage(err)
		return m == msg
	}
	lo := max(hint, 1) // fails(lo-1) is assumed false
	if lo > len(lines) {
		return len(lines)
	}
	hi := lo
	for step := 1; !fails(hi); step *= 2 {
		if hi == len(lines) {
			return max(hint, 1) // not reproducible on prefixes: keep the hint
		}
		lo, hi = hi+1, min(hi+step, len(lines))
	}
	for lo < hi { // fails(hi) is true
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

var anchorErrorRE = regexp.MustCompile(`^unknown anchor '([^']*)' referenced`)

// syntaxError locates and reports a yaml.v3 error of the document.
func (d *docDecoder) syntaxError(text string, err error) {
	hint, msg := yamlMessage(err)
	line := syntaxErrorLine(text, hint, msg)
	col := 1
	if lines := splitLines(text); line <= len(lines) {
		if m := anchorErrorRE.FindStringSubmatch(msg); m != nil {
			if i := strings.Index(lines[line-1], "*"+m[1]); i >= 0 {
				col = utf8.RuneCountInString(lines[line-1][:i]) + 1
			}
		}
	}
	d.errorAt(d.posRange(line, col), errors.New("invalid YAML: "+msg))
}

// posRange is a point of the document as a range of the original file.
func (d *docDecoder) posRange(line, col int) Range {
	p := d.pos(line, col)
	return Range{Start: p, End: p}
}

// coreTags are the explicit tags a Dappfile may use: they only say what
// the value already is. Any other tag (!!binary, !!set, !custom) would be
// silently read as plain text.
var coreTags = []string{"!!str", "!!int", "!!float", "!!bool", "!!null", "!!seq", "!!map"}

// checkTags refuses explicit YAML tags other than the core ones; ruby
// tags are left to the dump check, which explains them.
func (d *docDecoder) checkTags(n *yaml.Node) bool {
	ok := true
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Style&yaml.TaggedStyle != 0 && !contains(coreTags, n.Tag) && !strings.HasPrefix(n.Tag, "!ruby/") {
			d.errorf(n, "YAML tag %q is not supported: the Dappfile reader would not apply it; write the value without it", n.Tag)
			ok = false
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return ok
}

// checkNodes refuses a document whose aliases and merge keys expand to
// more than MaxYAMLNodes nodes ("billion laughs"): the decoder follows
// every alias. The walk stops at the limit, so it costs at most that.
func (d *docDecoder) checkNodes(root *yaml.Node) bool {
	count := 0
	var at *yaml.Node // the alias of the document being expanded
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if count++; count > MaxYAMLNodes {
			return false
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			outer := at
			if at == nil {
				at = n
			}
			ok := walk(n.Alias)
			at = outer
			return ok
		}
		for _, c := range n.Content {
			if !walk(c) {
				if at == nil {
					at = c
				}
				return false
			}
		}
		return true
	}
	if walk(root) {
		return true
	}
	if at.Kind == yaml.AliasNode {
		d.errorf(at, "the document has more than %d YAML nodes with its aliases expanded: this alias (or merge key `<<:`) repeats values that repeat others", MaxYAMLNodes)
	} else {
		d.errorf(at, "the document has more than %d YAML nodes: split it, or generate less", MaxYAMLNodes)
	}
	return false
}
