package dappfile

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// imageSpecKeys and imageSpecConfigKeys are werf's `imageSpec` keys that
// are read; clearHistory and config.healthcheck are refused by name.
var (
	imageSpecKeys       = []string{"author", "config"}
	imageSpecConfigKeys = []string{
		"cmd", "entrypoint", "env", "expose", "labels", "stopSignal", "user", "volumes", "workingDir",
		"removeEnv", "removeLabels", "removeVolumes", "keepEssentialWerfLabels",
		"clearCmd", "clearEntrypoint", "clearUser", "clearWorkingDir",
	}
)

// decodeImageSpec reads werf's `imageSpec` of a stapel image into the same
// model as `docker:` (werf does not allow both in one image).
func (d *docDecoder) decodeImageSpec(n *yaml.Node) *Docker {
	dk := &Docker{Loc: d.rng(n), Spec: &ImageSpec{}}
	for _, f := range d.fields(n, "imageSpec", imageSpecKeys) {
		switch f.key {
		case "author":
			dk.Spec.Author = d.str(f.v, "imageSpec.author")
		case "config":
			d.decodeImageSpecConfig(f.v, dk)
		}
	}
	return dk
}

func (d *docDecoder) decodeImageSpecConfig(n *yaml.Node, dk *Docker) {
	spec := dk.Spec
	for _, f := range d.fields(n, "imageSpec.config", imageSpecConfigKeys) {
		p := "imageSpec.config." + f.key
		switch f.key {
		case "cmd":
			dk.Cmd = d.execForm(f.v, p)
		case "entrypoint":
			dk.Entrypoint = d.execForm(f.v, p)
		case "env":
			dk.Env = d.keyValues(f.v, p)
		case "labels":
			dk.Label = d.keyValues(f.v, p)
		case "expose":
			dk.Expose = d.checkedList(f.v, p, d.checkExpose)
		case "volumes":
			dk.Volume = d.checkedList(f.v, p, d.checkVolume)
		case "stopSignal":
			dk.StopSignal = d.dockerStr(f.v, p, "STOPSIGNAL")
		case "user":
			dk.User = d.dockerStr(f.v, p, "USER")
		case "workingDir":
			dk.Workdir = d.dockerStr(f.v, p, "WORKDIR")
		case "removeEnv":
			spec.RemoveEnv = d.namePatterns(f.v, p)
		case "removeLabels":
			spec.RemoveLabels = d.namePatterns(f.v, p)
		case "removeVolumes":
			spec.RemoveVolumes, _ = d.strList(f.v, p)
		case "keepEssentialWerfLabels":
			// there are no werf labels to keep: this frontend adds none
			d.boolean(f.v, p)
		case "clearCmd":
			spec.ClearCmd = d.boolean(f.v, p)
		case "clearEntrypoint":
			spec.ClearEntrypoint = d.boolean(f.v, p)
		case "clearUser":
			spec.ClearUser = d.boolean(f.v, p)
		case "clearWorkingDir":
			spec.ClearWorkingDir = d.boolean(f.v, p)
		}
	}
}

// execForm reads imageSpec's cmd/entrypoint: a list, the exec form.
func (d *docDecoder) execForm(n *yaml.Node, p string) *Command {
	if deref(n).Kind != yaml.SequenceNode {
		d.errorf(n, "`%s` must be a list (the exec form), got %s", p, typeName(n))
		return nil
	}
	args, _ := d.strList(n, p)
	return &Command{Exec: args}
}

// namePatterns reads names or /regexp/ patterns, checking the patterns.
func (d *docDecoder) namePatterns(n *yaml.Node, p string) []string {
	vals, nodes := d.strList(n, p)
	for i, v := range vals {
		if re, ok := strings.CutPrefix(v, "/"); ok && strings.HasSuffix(re, "/") && len(re) > 0 {
			if _, err := regexp.Compile(strings.TrimSuffix(re, "/")); err != nil {
				d.errorf(nodes[i], "`%s[%d]` is not a valid /regexp/: %v", p, i, err)
			}
		}
	}
	return vals
}

// MatchName reports whether name is one of patterns: a name, or a
// /regexp/ matched against the whole name.
func MatchName(patterns []string, name string) bool {
	for _, p := range patterns {
		if re, ok := strings.CutPrefix(p, "/"); ok && strings.HasSuffix(re, "/") && len(re) > 0 {
			if r, err := regexp.Compile("^(?:" + strings.TrimSuffix(re, "/") + ")$"); err == nil && r.MatchString(name) {
				return true
			}
			continue
		}
		if p == name {
			return true
		}
	}
	return false
}
