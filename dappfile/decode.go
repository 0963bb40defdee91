package dappfile

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// parser holds what all documents of one Dappfile share: the line map, the
// problems found so far and the locations validation needs.
type parser struct {
	lines *lineMap
	errs  []error
	warns []Warning
	// importLocs is where each import names its artifact.
	importLocs map[*Import]Range
	// meta is werf's meta document, once read.
	meta *Meta
	// werf is ParseOpt.Werf.
	werf bool
}

// docDecoder decodes one YAML document of the rendered file.
type docDecoder struct {
	*parser
	// offset is the rendered line just before the document's first line.
	offset  int
	kind    Kind
	docType docType
	// quiet drops errors and warnings: set while decoding the second and
	// later copies of a `dimg: [a, b]` document.
	quiet bool
}

func (p *parser) errorAt(r Range, err error) {
	p.errs = append(p.errs, &LocationError{Ranges: []Range{r}, Err: err})
}

func (d *docDecoder) errorf(n *yaml.Node, format string, args ...any) {
	if !d.quiet {
		d.errorAt(d.rng(n), fmt.Errorf(format, args...))
	}
}

func (d *docDecoder) warnf(n *yaml.Node, format string, args ...any) {
	if !d.quiet {
		d.warns = append(d.warns, Warning{Range: d.rng(n), Message: fmt.Sprintf(format, args...)})
	}
}

// pos maps a node position of the document to the original file.
func (d *docDecoder) pos(line, col int) Position {
	return Position{Line: d.lines.line(d.offset + line), Column: col}
}

// rng is the range of n: from its start to the end of its last descendant.
func (d *docDecoder) rng(n *yaml.Node) Range {
	if n == nil {
		return Range{}
	}
	last := n
	for len(last.Content) > 0 {
		last = last.Content[len(last.Content)-1]
	}
	endLine, endCol := scalarEnd(last)
	return Range{Start: d.pos(n.Line, n.Column), End: d.pos(endLine, endCol)}
}

// scalarEnd estimates where a node's text ends; yaml.v3 records starts only.
func scalarEnd(n *yaml.Node) (int, int) {
	if n.Kind != yaml.ScalarNode {
		return n.Line, n.Column
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return n.Line + max(strings.Count(strings.TrimRight(n.Value, "\n"), "\n")+1, 1), n.Column
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return n.Line, n.Column + len(n.Value) + 1
	}
	return n.Line, n.Column + max(len(n.Value)-1, 0)
}

// parseYAML parses one document into a node tree. Bad characters, syntax
// errors, unsupported tags and too many nodes are reported at their line.
func (d *docDecoder) parseYAML(text string) (*yaml.Node, bool) {
	if line, col, what, bad := badYAMLChar(text); bad {
		d.errorAt(d.posRange(line, col), errors.New(what))
		return nil, false
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		d.syntaxError(text, err)
		return nil, false
	}
	if !d.checkNodes(&root) || !d.checkTags(&root) {
		return nil, false
	}
	return &root, true
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// typeName names a node's YAML type for messages, never a Go type.
func typeName(n *yaml.Node) string {
	switch n = deref(n); n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.DocumentNode:
		return "document"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!bool":
		return "boolean"
	case "!!int", "!!float":
		return "number"
	}
	return "string"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
