package dappfile

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// metaKeys are the keys of werf's meta document. deploy, cleanup and
// gitWorktree configure werf's other commands (helm deploy, registry
// cleanup, clone handling): nothing of them is about building, so they
// are accepted and not read.
var metaKeys = []string{"project", "configVersion", "build", "deploy", "cleanup", "gitWorktree"}

// projectRE is werf's rule for project names: they become parts of
// image and cache names.
var projectRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// metaBuildKeys are the keys of the meta document's `build:` (platform and
// imageSpec are refused with werfRefusals).
var metaBuildKeys = []string{"cacheVersion", "staged", "imageSpec"}

// metaImageSpecKeys are what `build.imageSpec` may set for every final
// image (werf's global image spec).
var (
	metaImageSpecKeys       = []string{"author", "config"}
	metaImageSpecConfigKeys = []string{"labels", "removeLabels", "keepEssentialWerfLabels"}
)

// decodeMeta reads werf's meta document into p.meta.
func (d *docDecoder) decodeMeta(n *yaml.Node) {
	d.docType = docMeta
	m := &Meta{Loc: d.rng(n)}
	var version *field
	for _, f := range d.fields(n, "", metaKeys) {
		switch f.key {
		case "project":
			m.Project, m.ProjectLoc = d.str(f.v, "project"), d.rng(f.v)
			if !projectRE.MatchString(m.Project) || len(m.Project) > 50 {
				d.errorf(f.v, "`project` must be a werf project name (lowercase letters, digits and single dashes, at most 50 characters), got %q", m.Project)
			}
		case "configVersion":
			version = &f
			if v := d.integer(f.v, "configVersion"); v != 1 && deref(f.v).Kind == yaml.ScalarNode {
				d.errorf(f.v, "`configVersion` must be 1, the only version of werf's configuration, got %s", describe(f.v))
			}
		case "build":
			d.decodeMetaBuild(f.v, m)
		default:
			d.anyMapping(f.v, f.key)
		}
	}
	if version == nil {
		d.errorf(n, "werf's meta document needs `configVersion: 1`")
	}
	if m.ProjectLoc == (Range{}) {
		d.errorf(n, "werf's meta document needs `project: NAME`")
	}
	if prev := d.meta; prev != nil {
		d.errorf(n, "a second meta document (the first is at line %d): keep one document with `project` and `configVersion`", prev.Loc.Start.Line)
		return
	}
	d.meta = m
}

func (d *docDecoder) decodeMetaBuild(n *yaml.Node, m *Meta) {
	for _, f := range d.fields(n, "build", metaBuildKeys) {
		switch f.key {
		case "cacheVersion":
			m.CacheVersion = d.str(f.v, "build.cacheVersion")
		case "imageSpec":
			m.ImageSpec = d.decodeMetaImageSpec(f.v)
		case "staged":
			// werf's layer-by-layer registry cache of Dockerfile steps:
			// BuildKit caches every step anyway (--export-cache mode=max
			// shares them between machines).
			d.boolean(f.v, "build.staged")
		}
	}
}

// anyMapping checks that a section that is accepted but not read is a
// mapping (or empty), so a broken file is still told apart.
func (d *docDecoder) anyMapping(n *yaml.Node, path string) {
	if n = deref(n); !isNull(n) && n.Kind != yaml.MappingNode {
		d.errorf(n, "`%s` must be a mapping, got %s", path, typeName(n))
	}
}

// applyMeta gives every stapel image the meta document's build-wide
// cacheVersion, first, so an image's own one still counts.
func (p *parser) applyMeta(cfg *Config) {
	cfg.Meta = p.meta
	if p.meta == nil {
		return
	}
	for _, im := range cfg.Images {
		if p.meta.ImageSpec != nil && im.Kind == KindImage && !im.Intermediate {
			im.Docker = withMetaSpec(p.meta.ImageSpec, im.Docker)
		}
	}
	if p.meta.CacheVersion == "" {
		return
	}
	for _, im := range cfg.Images {
		if im.Dockerfile != nil {
			p.warns = append(p.warns, Warning{Range: im.Dockerfile.Loc,
				Message: "`build.cacheVersion` does not change the cache of `dockerfile:` images: BuildKit keys the Dockerfile's steps by their content"})
			continue
		}
		im.CacheVersion = append([]string{p.meta.CacheVersion}, im.CacheVersion...)
	}
}

// decodeMetaImageSpec reads `build.imageSpec`: the author and labels of
// every final image.
func (d *docDecoder) decodeMetaImageSpec(n *yaml.Node) *Docker {
	dk := &Docker{Loc: d.rng(n), Spec: &ImageSpec{}}
	for _, f := range d.fields(n, "build.imageSpec", metaImageSpecKeys) {
		if f.key == "author" {
			dk.Spec.Author = d.str(f.v, "build.imageSpec.author")
			continue
		}
		for _, c := range d.fields(f.v, "build.imageSpec.config", metaImageSpecConfigKeys) {
			p := "build.imageSpec.config." + c.key
			switch c.key {
			case "labels":
				dk.Label = d.keyValues(c.v, p)
			case "removeLabels":
				dk.Spec.RemoveLabels = d.namePatterns(c.v, p)
			default:
				d.boolean(c.v, p)
			}
		}
	}
	return dk
}

// withMetaSpec merges the meta document's imageSpec under an image's own
// config: the image's author and labels win, both removal lists apply.
func withMetaSpec(meta, own *Docker) *Docker {
	out := &Docker{Loc: meta.Loc, Spec: &ImageSpec{}}
	if own != nil {
		cp := *own
		out = &cp
		spec := ImageSpec{}
		if own.Spec != nil {
			spec = *own.Spec
		}
		out.Spec = &spec
	}
	if out.Spec.Author == "" {
		out.Spec.Author = meta.Spec.Author
	}
	out.Spec.RemoveLabels = append(append([]string{}, meta.Spec.RemoveLabels...), out.Spec.RemoveLabels...)
	out.Label = append(append([]KeyValue{}, meta.Label...), out.Label...)
	return out
}
