package dappfile

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// dockerKeys are the keys of `docker:`, spelled as Dockerfile instructions.
var dockerKeys = []string{
	"VOLUME", "EXPOSE", "ENV", "LABEL", "ENTRYPOINT", "CMD", "WORKDIR", "USER",
	"ONBUILD", "STOPSIGNAL", "HEALTHCHECK",
	// werf: pass values as they are, quotes and spaces included, which is
	// what this frontend does anyway (it never re-parses them).
	"exactValues",
}

// decodeDocker reads `docker:`, the result's image config.
func (d *docDecoder) decodeDocker(n *yaml.Node) *Docker {
	dk := &Docker{Loc: d.rng(n)}
	for _, f := range d.fields(n, "docker", dockerKeys) {
		p := "docker." + f.key
		switch f.key {
		case "VOLUME":
			dk.Volume = d.checkedList(f.v, p, d.checkVolume)
		case "EXPOSE":
			dk.Expose = d.checkedList(f.v, p, d.checkExpose)
		case "ONBUILD":
			dk.Onbuild, _ = d.strList(f.v, p)
		case "ENV":
			dk.Env = d.keyValues(f.v, p)
		case "LABEL":
			dk.Label = d.keyValues(f.v, p)
		case "ENTRYPOINT":
			dk.Entrypoint = d.command(f.v, p)
		case "CMD":
			dk.Cmd = d.command(f.v, p)
		case "HEALTHCHECK":
			dk.Healthcheck = d.decodeHealthcheck(f.v, p)
		case "exactValues":
			d.boolean(f.v, p)
		default:
			*dockerString(dk, f.key) = d.dockerStr(f.v, p, f.key)
		}
	}
	return dk
}

// checkedList reads a list of strings and checks each with check, named
// by its index: VOLUME and EXPOSE of docker: and of werf's imageSpec.
func (d *docDecoder) checkedList(n *yaml.Node, p string, check func(n *yaml.Node, p, v string)) []string {
	vals, nodes := d.strList(n, p)
	for i, v := range vals {
		check(nodes[i], fmt.Sprintf("%s[%d]", p, i), v)
	}
	return vals
}

// dockerStr reads WORKDIR, USER or STOPSIGNAL (key names which), checked;
// werf's imageSpec sets the same fields.
func (d *docDecoder) dockerStr(n *yaml.Node, p, key string) string {
	v := d.str(n, p)
	d.checkDockerString(n, p, key, v)
	return v
}

// checkDockerString checks WORKDIR, USER and STOPSIGNAL.
func (d *docDecoder) checkDockerString(n *yaml.Node, p, key, v string) {
	switch {
	case deref(n).Kind != yaml.ScalarNode:
	case v == "" && !isNull(n):
		d.errorf(n, "`%s` must not be empty", p)
	case v == "":
	case key == "WORKDIR":
		d.checkWorkdir(n, p, v)
	case key == "STOPSIGNAL":
		d.checkStopSignal(n, p, v)
	default:
		d.checkPrintable(n, p, v)
	}
}

// checkVolume wants a one-line, non-empty path.
func (d *docDecoder) checkVolume(n *yaml.Node, p, v string) {
	if v == "" {
		d.errorf(n, "`%s` must not hold an empty path", p)
		return
	}
	d.checkPrintable(n, p, v)
}

func dockerString(dk *Docker, key string) *string {
	return map[string]*string{"WORKDIR": &dk.Workdir, "USER": &dk.User, "STOPSIGNAL": &dk.StopSignal}[key]
}

// keyValues reads ENV or LABEL in document order; numbers and booleans keep
// their text, null is "".
func (d *docDecoder) keyValues(n *yaml.Node, p string) []KeyValue {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "`%s` must be a mapping of names to values, got %s", p, typeName(n))
		return nil
	}
	var out []KeyValue
	seen := map[string]*yaml.Node{}
	for _, f := range mappingPairs(n) {
		if f.key == "" {
			d.errorf(f.k, "`%s` has an empty name", p)
			continue
		}
		if prev, dup := seen[f.key]; dup {
			d.errorf(f.k, "duplicate name %q in `%s` (first at line %d)", f.key, p, d.pos(prev.Line, 0).Line)
			continue
		}
		seen[f.key] = f.k
		if p == "docker.ENV" {
			d.checkEnvKey(f.k, p, f.key)
		}
		out = append(out, KeyValue{Key: f.key, Value: d.str(f.v, p+"."+f.key)})
	}
	return out
}

// command reads ENTRYPOINT or CMD: a list is the exec form, a string the
// shell form.
func (d *docDecoder) command(n *yaml.Node, p string) *Command {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return &Command{Shell: n.Value, IsShell: true}
	}
	exec, _ := d.strList(n, p)
	if exec == nil {
		exec = []string{}
	}
	return &Command{Exec: exec}
}
