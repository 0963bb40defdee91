package dappfile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// document is one YAML document of the rendered Dappfile.
type document struct {
	text string
	// firstLine is the rendered line (1-based) of the document's first line.
	firstLine int
	// broken is set when splitting already reported an error for it.
	broken bool
}

// separatorRE matches a document separator: `---`, optionally followed by
// spaces and a comment. dapp splits on nothing else.
var separatorRE = regexp.MustCompile(`^---[ \t]*(#.*)?$`)

// splitDocuments splits the rendered Dappfile into documents. A `---` line
// followed by other content is refused: dapp never wrote such lines except in
// its internal config dump (`--- !ruby/object:Dapp::Config::Config`).
func (p *parser) splitDocuments(rendered string) []document {
	var docs []document
	var cur []string
	first, broken := 1, false
	for i, line := range splitLines(rendered) {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case separatorRE.MatchString(line):
			docs = append(docs, document{text: strings.Join(cur, "\n"), firstLine: first, broken: broken})
			cur, first, broken = nil, i+2, false
			continue
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "---\t"):
			p.errorAt(pointRange(p.lines.line(i+1), 1), separatorError(line))
			broken = true
		}
		cur = append(cur, line)
	}
	return append(docs, document{text: strings.Join(cur, "\n"), firstLine: first, broken: broken})
}

func separatorError(line string) error {
	rest := strings.TrimSpace(line[3:])
	if strings.HasPrefix(rest, "!ruby/") {
		return fmt.Errorf("%q: ruby tag %q marks dapp's internal config dump format, not a Dappfile: it is not supported", line, strings.Fields(rest)[0])
	}
	return errors.New("a document separator `---` must be alone on its line (only a `# comment` may follow it)")
}
