package dappfile

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// decodeImageFields fills im from the document's keys. Each field's decoder
// reports its own problems, so one bad key does not hide the others.
func (d *docDecoder) decodeImageFields(n *yaml.Node, im *Image, fields []field) {
	var base *field
	var builder *field // shell, ansible or chef
	for i, f := range fields {
		key := f.key
		if f.key != "image" { // the name key already warned
			key = d.canonical(f)
		}
		switch key {
		case "from", "fromDimg", "fromDimgArtifact":
			d.decodeBase(im, key, &fields[i], &base)
		case "shell", "ansible", "chef":
			d.decodeBuilder(im, &fields[i], &builder)
		default:
			d.decodeOther(im, key, f)
		}
	}
	if base == nil {
		d.errorf(n, "%s %s has no base image: set one of `from`, `fromDimg` or `fromDimgArtifact`", d.kind, quoteName(im.Name))
	}
	d.warnUnusedSecrets(im, fields)
}

// warnUnusedSecrets says when `secrets` or `ssh` reach no step: only user
// stages get them.
func (d *docDecoder) warnUnusedSecrets(im *Image, fields []field) {
	if im.Shell != nil && len(im.Shell.Stages) > 0 {
		return
	}
	for _, f := range fields {
		if f.key == "secrets" || f.key == "ssh" {
			d.warnf(f.k, "`%s` has no effect: only the commands of `shell` stages get secrets and ssh, and this %s has none", f.key, d.kind)
		}
	}
}

func (d *docDecoder) decodeOther(im *Image, key string, f field) {
	switch key {
	case "fromCacheVersion":
		im.FromCacheVersion = d.str(f.v, key)
	case "git":
		im.Git = d.decodeGits(f.v)
	case "mount":
		im.Mounts = d.decodeMounts(f.v)
	case "import":
		im.Imports = d.decodeImports(f.v)
	case "docker", "imageSpec":
		switch {
		case d.kind == KindArtifact:
			d.errorf(f.k, "`%s` is not allowed in an artifact: an artifact is never the result image", key)
		case im.Docker != nil:
			d.errorf(f.k, "`docker` and `imageSpec` cannot be used together (as in werf): keep one")
		case key == "imageSpec":
			im.Docker = d.decodeImageSpec(f.v)
		default:
			im.Docker = d.decodeDocker(f.v)
		}
	case "asLayers":
		im.AsLayers = d.boolean(f.v, key)
	case "autoCache":
		b := d.boolean(f.v, key)
		im.AutoCache = &b
	case "secrets":
		im.Secrets = d.decodeSecrets(f.v)
	case "ssh":
		im.SSH = d.decodeSSH(f.v)
	default:
		d.decodeWerfField(im, key, f)
	}
}

// decodeBase reads from/fromDimg/fromDimgArtifact; only one may be set.
func (d *docDecoder) decodeBase(im *Image, key string, f *field, base **field) {
	if *base != nil {
		d.errorf(f.k, "`%s` and `%s` cannot be used together: an image has one base", (*base).key, f.key)
		return
	}
	*base = f
	im.FromLoc = d.rng(f.v)
	v := d.str(f.v, f.key)
	if v == "" {
		d.errorf(f.v, "`%s` must not be empty", f.key)
	}
	switch key {
	case "from":
		im.From = v
	case "fromDimg":
		im.FromDimg = v
	default:
		im.FromDimgArtifact = v
	}
}

// decodeBuilder reads shell or ansible and refuses chef.
func (d *docDecoder) decodeBuilder(im *Image, f *field, builder **field) {
	if *builder != nil {
		d.errorf(f.k, "`%s` and `%s` cannot be used together: one document uses one builder", (*builder).key, f.key)
	}
	if *builder == nil {
		*builder = f
	}
	switch f.key {
	case "ansible":
		im.Ansible = d.decodeAnsible(f.v)
	case "chef":
		d.errorf(f.k, "`chef` is not supported (dapp's chef builder was dropped); rewrite the recipes as commands under `shell:`")
	default:
		im.Shell = d.decodeShell(f.v)
	}
}

// quoteName quotes an image name for messages; the nameless image reads
// as "(nameless)".
func quoteName(name string) string {
	if name == "" {
		return "(nameless)"
	}
	return strconv.Quote(name)
}
