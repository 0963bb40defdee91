package dappfile

import (
	"fmt"
	"sort"
)

// names indexes the images and artifacts of a Dappfile by name.
type names struct {
	images, artifacts map[string]*Image
}

// validate checks what spans documents: names, references and cycles.
// complete is false when decoding already failed; "no image" is then left
// out, as the missing image may be a document that failed to decode.
func (p *parser) validate(cfg *Config, complete bool) {
	if complete && !hasImage(cfg) {
		p.errs = append(p.errs, p.noImageError(cfg))
	}
	n := p.indexNames(cfg)
	p.checkNameless(cfg)
	for _, im := range cfg.Images {
		p.checkBaseRef(im, n)
		p.checkImportRefs(im, n)
	}
	p.checkCycles(cfg, n)
}

func hasImage(cfg *Config) bool {
	for _, im := range cfg.Images {
		if im.Kind == KindImage {
			return true
		}
	}
	return false
}

func (p *parser) noImageError(cfg *Config) error {
	err := &LocationError{Err: fmt.Errorf("no image: a Dappfile needs at least one `dimg` document")}
	if p.isWerf() {
		err.Err = fmt.Errorf("no image: a werf.yaml needs at least one `image` document")
	}
	if len(cfg.Images) > 0 {
		err.Ranges = []Range{cfg.Images[0].NameLoc}
	}
	return err
}

// indexNames reports duplicate names and an image and an artifact sharing
// a name, and returns the index of the first of each.
func (p *parser) indexNames(cfg *Config) names {
	n := names{images: map[string]*Image{}, artifacts: map[string]*Image{}}
	for _, im := range cfg.Images {
		own, other := n.images, n.artifacts
		if im.Kind == KindArtifact {
			own, other = n.artifacts, n.images
		}
		if prev := own[im.Name]; prev != nil && im.Name != "" {
			p.errorAt(im.NameLoc, fmt.Errorf("duplicate %s name %q (first at line %d)", im.Kind, im.Name, prev.NameLoc.Start.Line))
			continue
		}
		if prev := other[im.Name]; prev != nil {
			p.errorAt(im.NameLoc, fmt.Errorf("%s %q has the same name as the %s at line %d", im.Kind, im.Name, prev.Kind, prev.NameLoc.Start.Line))
		}
		if own[im.Name] == nil {
			own[im.Name] = im
		}
	}
	return n
}

// checkNameless: `dimg: ~` only works when it is the only image, since
// nothing else could tell the images apart.
func (p *parser) checkNameless(cfg *Config) {
	count := 0
	for _, im := range cfg.Images {
		if im.Kind == KindImage {
			count++
		}
	}
	for _, im := range cfg.Images {
		if im.Kind == KindImage && im.Name == "" && count > 1 {
			p.errorAt(im.NameLoc, fmt.Errorf("a dimg without a name is only allowed when it is the only dimg (found %d)", count))
		}
	}
}

// checkBaseRef checks fromDimg and fromDimgArtifact.
func (p *parser) checkBaseRef(im *Image, n names) {
	switch {
	case im.FromDimg != "":
		p.checkRef(im, "fromDimg", im.FromDimg, im.FromLoc, KindImage, n)
	case im.FromDimgArtifact != "":
		p.checkRef(im, "fromDimgArtifact", im.FromDimgArtifact, im.FromLoc, KindArtifact, n)
	}
}

func (p *parser) checkImportRefs(im *Image, n names) {
	for i, imp := range im.Imports {
		switch {
		case imp.Artifact == "":
		case imp.AnyKind:
			p.checkAnyRef(im, fmt.Sprintf("import[%d].image", i), imp, n)
		default:
			p.checkRef(im, fmt.Sprintf("import[%d].artifact", i), imp.Artifact, p.importLocs[imp], KindArtifact, n)
		}
	}
}

// checkAnyRef checks werf's `import[].image`, which names an image or an
// artifact of the file, and that a `stage` names a stapel stage.
func (p *parser) checkAnyRef(im *Image, key string, imp *Import, n names) {
	loc := p.importLocs[imp]
	src := n.lookup(imp.Artifact)
	switch {
	case src == im:
		p.errorAt(loc, fmt.Errorf("`%s` refers to its own %s %q", key, im.Kind, im.Name))
	case src == nil:
		all := append(sortedKeys(n.images), sortedKeys(n.artifacts)...)
		p.errorAt(loc, fmt.Errorf("`%s` names unknown image or artifact %q%s", key, imp.Artifact, didYouMean(imp.Artifact, all)))
	case imp.Stage != "" && src.Dockerfile != nil:
		p.errorAt(loc, fmt.Errorf("`%s` names %q, a `dockerfile:` image: it has no stage %q to import from; drop `stage` to import its final files", key, imp.Artifact, imp.Stage))
	}
}

// lookup finds an image, else an artifact, by name.
func (n names) lookup(name string) *Image {
	if im := n.images[name]; im != nil {
		return im
	}
	return n.artifacts[name]
}

// checkRef checks that key names an existing image or artifact of the
// wanted kind, other than im itself.
func (p *parser) checkRef(im *Image, key, name string, loc Range, want Kind, n names) {
	own, other := n.images, n.artifacts
	if want == KindArtifact {
		own, other = n.artifacts, n.images
	}
	switch {
	case im.Kind == want && im.Name == name:
		p.errorAt(loc, fmt.Errorf("`%s` refers to its own %s %q", key, want, name))
	case own[name] != nil:
	case other[name] != nil:
		p.errorAt(loc, fmt.Errorf("`%s` names %q, which is %s, not %s", key, name, withArticle(other[name].Kind), withArticle(want)))
	default:
		p.errorAt(loc, fmt.Errorf("`%s` names unknown %s %q%s", key, want, name, didYouMean(name, sortedKeys(own))))
	}
}

func withArticle(k Kind) string {
	if k == KindArtifact {
		return "an artifact"
	}
	return "a dimg"
}

func sortedKeys(m map[string]*Image) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
