package dappfile

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// field is one key of a mapping with its key and value nodes.
type field struct {
	key  string
	k, v *yaml.Node
}

// fields checks that n is a mapping whose keys are all in known and returns
// its entries in document order. Unknown and repeated keys are reported with
// their own position; null stands for an empty mapping. `<<` merge keys are
// expanded.
func (d *docDecoder) fields(n *yaml.Node, path string, known []string) []field {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", quoteKey(path), typeName(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	var out []field
	for _, f := range mappingPairs(n) {
		if prev, dup := seen[f.key]; dup {
			d.errorf(f.k, "duplicate key %q%s (first at line %d)", f.key, inKey(path), d.pos(prev.Line, 0).Line)
			continue
		}
		seen[f.key] = f.k
		if !contains(known, f.key) {
			if msg := d.refusal(path, f.key); msg != "" {
				d.errorf(f.k, "%s", msg)
				continue
			}
			d.errorf(f.k, "unknown key %q%s%s", f.key, inKey(path), didYouMean(f.key, known))
			continue
		}
		out = append(out, f)
	}
	return out
}

// mappingPairs lists the key/value pairs of a mapping, merged mappings
// (`<<: *anchor`) first.
func mappingPairs(n *yaml.Node) []field {
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			out = append(out, mergedPairs(deref(v))...)
			continue
		}
		out = append(out, field{key: k.Value, k: k, v: v})
	}
	return out
}

func mergedPairs(v *yaml.Node) []field {
	if v.Kind == yaml.MappingNode {
		return mappingPairs(v)
	}
	var out []field
	for _, m := range v.Content {
		if m = deref(m); m.Kind == yaml.MappingNode {
			out = append(out, mappingPairs(m)...)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteKey renders a key path for messages: `shell.install`.
func quoteKey(path string) string {
	if path == "" {
		return "the document"
	}
	return "`" + path + "`"
}

func inKey(path string) string {
	if path == "" {
		return ""
	}
	return " in `" + path + "`"
}

// str decodes a scalar as a string; numbers and booleans keep their text
// (`fromCacheVersion: 1` is "1") and null is "".
func (d *docDecoder) str(n *yaml.Node, path string) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a string, got %s", quoteKey(path), typeName(n))
		return ""
	}
	return n.Value
}

// strList decodes a string or a list of strings, returning the item nodes
// too so callers can point at one item.
func (d *docDecoder) strList(n *yaml.Node, path string) ([]string, []*yaml.Node) {
	n = deref(n)
	switch {
	case isNull(n):
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}, []*yaml.Node{n}
	case n.Kind != yaml.SequenceNode:
		d.errorf(n, "%s must be a string or a list of strings, got %s", quoteKey(path), typeName(n))
		return nil, nil
	}
	out, nodes := []string{}, []*yaml.Node{}
	for i, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			d.errorf(item, "`%s[%d]` must be a string, got %s", path, i, typeName(item))
			continue
		}
		out, nodes = append(out, item.Value), append(nodes, item)
	}
	return out, nodes
}

// list checks that n is a list and returns its items; null is empty.
func (d *docDecoder) list(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list, got %s", quoteKey(path), typeName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		out[i] = deref(item)
	}
	return out
}

// boolean accepts YAML 1.2 booleans and, as dapp (Ruby, YAML 1.1) did,
// yes/no/on/off.
func (d *docDecoder) boolean(n *yaml.Node, path string) bool {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true
		case "false", "no", "off", "", "~", "null":
			return false
		}
	}
	d.errorf(n, "%s must be true or false, got %s", quoteKey(path), describe(n))
	return false
}

// integer decodes a whole number.
func (d *docDecoder) integer(n *yaml.Node, path string) int {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v
		}
	}
	d.errorf(n, "%s must be a whole number, got %s", quoteKey(path), describe(n))
	return 0
}

// describe names a node for messages: its quoted value for scalars, else its
// type.
func describe(n *yaml.Node) string {
	if n = deref(n); n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return typeName(n)
}
