package dappfile

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// documentKeys are the keys of an image or artifact document, werf
// aliases and the refused chef builder included.
var documentKeys = []string{
	"dimg", "image", "artifact",
	"from", "fromDimg", "fromImage", "fromDimgArtifact", "fromImageArtifact", "fromArtifact",
	"fromCacheVersion", "git", "shell", "ansible", "chef", "mount", "import", "docker", "asLayers",
	"autoCache", "secrets", "ssh", "imageSpec",
	// werf
	"final", "fromLatest", "cacheVersion", "disableGitAfterPatch",
	"herebyIAdmitThatFromLatestMightBreakReproducibility",
}

// aliases maps werf spellings to the dapp keys they stand for.
var aliases = map[string]string{
	"image":             "dimg",
	"fromImage":         "fromDimg",
	"fromImageArtifact": "fromDimgArtifact",
	"fromArtifact":      "fromDimgArtifact",
}

// canonical returns the dapp spelling of key, warning when key is an alias.
func (d *docDecoder) canonical(f field) string {
	to, ok := aliases[f.key]
	if !ok {
		return f.key
	}
	if d.isWerf() {
		return to // werf's own spelling in a werf.yaml: nothing to say
	}
	d.warnf(f.k, "`%s` is werf's spelling of `%s`: read as `%s`", f.key, to, to)
	return to
}

// decodeDocument decodes one document into one Image per name.
func (p *parser) decodeDocument(doc document) []*Image {
	d := &docDecoder{parser: p, offset: doc.firstLine - 1}
	root, ok := d.parseYAML(doc.text)
	if !ok || len(root.Content) == 0 {
		return nil
	}
	n := deref(root.Content[0])
	if ruby := findRubyTag(n); ruby != nil {
		d.errorf(ruby, "ruby tag %q marks dapp's internal config dump format, not a Dappfile: it is not supported", ruby.Tag)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "a document must be a mapping with a `dimg` or `artifact` key, got %s", typeName(n))
		return nil
	}
	switch classify(n) {
	case docMeta:
		d.decodeMeta(n)
		return nil
	case docDockerfile:
		return d.decodeDockerfileImages(n)
	}
	return d.decodeImages(n, d.fields(n, "", documentKeys))
}

// decodeImages reads the name key first, so that every other key knows
// whether it is in an image or an artifact.
func (d *docDecoder) decodeImages(n *yaml.Node, fields []field) []*Image {
	names, nameNode, ok := d.decodeNames(n, fields)
	if !ok {
		return nil
	}
	var out []*Image
	for i, name := range names {
		d.quiet = i > 0
		im := &Image{Kind: d.kind, Name: name, Loc: d.rng(n), NameLoc: d.rng(nameNode)}
		d.decodeImageFields(n, im, fields)
		out = append(out, im)
	}
	d.quiet = false
	return out
}

// decodeNames finds dimg/image/artifact and returns the names it gives.
func (d *docDecoder) decodeNames(n *yaml.Node, fields []field) ([]string, *yaml.Node, bool) {
	var nameField *field
	for i, f := range fields {
		if f.key != "dimg" && f.key != "image" && f.key != "artifact" {
			continue
		}
		if nameField != nil {
			d.errorf(f.k, "`%s` and `%s` cannot be used in one document: it describes either an image or an artifact", nameField.key, f.key)
			continue
		}
		nameField = &fields[i]
	}
	if nameField == nil {
		if d.isWerf() {
			d.errorf(n, "a document needs `image: <name>` (with `dockerfile:` for a Dockerfile image), or `configVersion` and `project` for the meta document")
		} else {
			d.errorf(n, "a document needs `dimg: <name>` or `artifact: <name>`")
		}
		return nil, nil, false
	}
	if d.canonical(*nameField) == "artifact" {
		d.kind = KindArtifact
		return d.artifactName(nameField.v), nameField.v, true
	}
	return d.dimgNames(nameField.v), nameField.v, true
}

func (d *docDecoder) artifactName(v *yaml.Node) []string {
	name := d.str(v, "artifact")
	if name == "" && deref(v).Kind == yaml.ScalarNode {
		d.errorf(v, "`artifact` needs a name")
	}
	d.checkName(v, "artifact", name)
	return []string{name}
}

// dimgNames decodes `dimg: name`, `dimg: [a, b]` or `dimg: ~` (nameless).
func (d *docDecoder) dimgNames(v *yaml.Node) []string {
	if deref(v).Kind != yaml.SequenceNode {
		name := d.str(v, "dimg")
		d.checkName(v, "dimg", name)
		return []string{name}
	}
	names, nodes := d.strList(v, "dimg")
	for i, name := range names {
		if name == "" {
			d.errorf(nodes[i], "`dimg[%d]` must not be empty", i)
		}
		d.checkName(nodes[i], fmt.Sprintf("dimg[%d]", i), name)
	}
	if len(names) == 0 {
		d.errorf(v, "`dimg` must name at least one image (use `dimg: ~` for a nameless one)")
		return []string{""}
	}
	return names
}

// findRubyTag returns the first node tagged with a Ruby object tag, found
// in dapp's config dumps.
func findRubyTag(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if len(n.Tag) > 6 && n.Tag[:6] == "!ruby/" {
		return n
	}
	for _, c := range n.Content {
		if r := findRubyTag(c); r != nil {
			return r
		}
	}
	return nil
}
