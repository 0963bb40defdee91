package dappfile

import (
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// importKeys are the keys of an `import:` entry. werf's `image` (and
// werf 3's `from`) names an image or an artifact, and `stage` takes the
// files as they are after that stage.
var importKeys = []string{
	"artifact", "image", "from", "stage", "add", "to", "before", "after",
	"includePaths", "excludePaths", "owner", "group",
}

// decodeImports reads `import:`, a list of mappings.
func (d *docDecoder) decodeImports(n *yaml.Node) []*Import {
	var out []*Import
	for i, item := range d.list(n, "import") {
		out = append(out, d.decodeImport(item, fmt.Sprintf("import[%d]", i)))
	}
	return out
}

func (d *docDecoder) decodeImport(n *yaml.Node, p string) *Import {
	imp := &Import{Loc: d.rng(n)}
	var name, point *field
	for _, f := range d.fields(n, p, importKeys) {
		switch f.key {
		case "artifact", "image", "from":
			d.importArtifact(imp, f, &name, p)
		case "before", "after":
			d.importPoint(imp, f, &point, p)
		case "stage":
			d.importStage(imp, f, p)
		default:
			d.decodeImportField(imp, f, p+"."+f.key)
		}
	}
	if deref(n).Kind != yaml.MappingNode {
		return imp
	}
	if name == nil {
		d.errorf(n, "`%s` needs `artifact` (or werf's `image`): the name of the artifact or image to import from", p)
	}
	if point == nil {
		d.errorf(n, "`%s` needs `before` or `after` (install or setup)", p)
	}
	if imp.Add == "" {
		d.errorf(n, "`%s` needs `add`: the absolute path in the artifact", p)
	}
	if imp.To == "" {
		imp.To = imp.Add
	}
	return imp
}

func (d *docDecoder) decodeImportField(imp *Import, f field, p string) {
	switch f.key {
	case "add":
		imp.Add = d.absPath(f.v, p)
	case "to":
		imp.To = d.absPath(f.v, p)
	case "includePaths":
		imp.IncludePaths = d.relPaths(f.v, p)
	case "excludePaths":
		imp.ExcludePaths = d.relPaths(f.v, p)
	case "owner":
		imp.Owner = d.str(f.v, p)
	case "group":
		imp.Group = d.str(f.v, p)
	}
}

func (d *docDecoder) importArtifact(imp *Import, f field, seen **field, p string) {
	if *seen != nil {
		d.errorf(f.k, "`%s.%s` cannot be used with `%s`: name the source once", p, f.key, (*seen).key)
		return
	}
	*seen = &f
	imp.AnyKind = f.key != "artifact"
	imp.Artifact = d.str(f.v, p+"."+f.key)
	d.importLocs[imp] = d.rng(f.v)
	if imp.Artifact == "" {
		d.errorf(f.v, "`%s.%s` must name an artifact or image", p, f.key)
	}
}

// importStages are the stages werf's `import[].stage` may name.
var importStages = []string{string(BeforeInstall), string(Install), string(BeforeSetup), string(Setup)}

// importStage reads werf's `stage:` of an import.
func (d *docDecoder) importStage(imp *Import, f field, p string) {
	v := d.str(f.v, p+".stage")
	if !contains(importStages, v) {
		d.errorf(f.v, "`%s.stage` must be one of %s, got %q%s", p, strings.Join(importStages, ", "), v, didYouMean(v, importStages))
		return
	}
	imp.Stage = StageName(v)
}

// importPoint reads `before:` or `after:`; exactly one, install or setup.
func (d *docDecoder) importPoint(imp *Import, f field, seen **field, p string) {
	if *seen != nil {
		d.errorf(f.k, "`%s.%s` cannot be used with `%s`: an import happens at one point", p, f.key, (*seen).key)
		return
	}
	*seen = &f
	v := d.str(f.v, p+"."+f.key)
	stages := []string{string(Install), string(Setup)}
	if !contains(stages, v) {
		d.errorf(f.v, "`%s.%s` must be \"install\" or \"setup\", got %q%s", p, f.key, v, didYouMean(v, stages))
	}
	imp.Point = ImportPoint{Before: f.key == "before", Stage: StageName(v)}
}

// mountKeys are the keys of a `mount:` entry.
var mountKeys = []string{"from", "fromPath", "to"}

// decodeMounts reads `mount:`; two mounts may not share a target.
func (d *docDecoder) decodeMounts(n *yaml.Node) []*Mount {
	var out []*Mount
	targets := map[string]int{}
	for i, item := range d.list(n, "mount") {
		p := fmt.Sprintf("mount[%d]", i)
		m, toNode := d.decodeMount(item, p)
		if toNode == nil || m.To == "" {
			out = append(out, m)
			continue
		}
		to := path.Clean(m.To)
		if line, dup := targets[to]; dup {
			d.errorf(toNode, "`%s.to` %q is already mounted (line %d)", p, m.To, line)
		}
		targets[to] = d.rng(toNode).Start.Line
		out = append(out, m)
	}
	return out
}

func (d *docDecoder) decodeMount(n *yaml.Node, p string) (*Mount, *yaml.Node) {
	m := &Mount{Loc: d.rng(n)}
	var from, to *field
	for _, f := range d.fields(n, p, mountKeys) {
		switch f.key {
		case "from", "fromPath":
			d.mountSource(m, f, &from, p)
		case "to":
			to = &f
			if m.To = d.absPath(f.v, p+".to"); path.IsAbs(m.To) {
				d.checkMountTarget(f.v, p+".to", m.To)
			}
		}
	}
	if deref(n).Kind != yaml.MappingNode {
		return m, nil
	}
	if from == nil {
		d.errorf(n, "`%s` needs `from` (build_dir or tmp_dir) or `fromPath`", p)
	}
	if to == nil {
		d.errorf(n, "`%s` needs `to`: the absolute path to mount at", p)
		return m, nil
	}
	return m, to.v
}

func (d *docDecoder) mountSource(m *Mount, f field, seen **field, p string) {
	if *seen != nil {
		d.errorf(f.k, "`%s.%s` cannot be used with `%s`: a mount has one source", p, f.key, (*seen).key)
		return
	}
	*seen = &f
	if f.key == "fromPath" {
		m.From, m.FromPath = MountFromPath, d.absPath(f.v, p+".fromPath")
		return
	}
	v := d.str(f.v, p+".from")
	kinds := []string{string(MountBuildDir), string(MountTmpDir)}
	if !contains(kinds, v) {
		d.errorf(f.v, "`%s.from` must be \"build_dir\" or \"tmp_dir\", got %q%s", p, v, didYouMean(v, kinds))
	}
	m.From = MountFrom(v)
}
