package dappfile

import (
	"fmt"
	"path"
	"regexp"

	"gopkg.in/yaml.v3"
)

// stageSecretKeys are the keys of a `secrets:` entry of a stapel image:
// werf's spelling (id, env, src, value) plus where the secret goes in the
// step.
var stageSecretKeys = []string{"id", "env", "src", "value", "to", "toEnv", "required"}

// sshKeys are the keys of an `ssh:` entry written as a mapping.
var sshKeys = []string{"id", "required"}

// secretIDRE is what a secret or ssh id may be: BuildKit passes any string
// to the client, but an id also names the default file /run/secrets/<id>
// and appears in progress output, so it stays a plain word.
var secretIDRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// envNameRE is a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// secretsDir is where a secret's file goes unless `to` says otherwise, as
// in werf and in Dockerfile `RUN --mount=type=secret`.
const secretsDir = "/run/secrets/"

// decodeSecrets reads `secrets:`. Two secrets may not write one file or
// one variable.
func (d *docDecoder) decodeSecrets(n *yaml.Node) []*Secret {
	var out []*Secret
	targets := map[string]int{}
	for i, item := range d.list(n, "secrets") {
		p := fmt.Sprintf("secrets[%d]", i)
		s, ok := d.decodeSecret(item, p)
		if !ok {
			continue
		}
		where, what := "file", s.To
		if s.ToEnv != "" {
			where, what = "variable", "$"+s.ToEnv
		}
		if line, dup := targets[what]; dup {
			d.errorf(item, "`%s` writes the %s %q that line %d already writes", p, where, what, line)
			continue
		}
		targets[what] = d.rng(item).Start.Line
		out = append(out, s)
	}
	return out
}

func (d *docDecoder) decodeSecret(n *yaml.Node, p string) (*Secret, bool) {
	if deref(n).Kind != yaml.MappingNode {
		d.errorf(n, "`%s` must be a mapping such as `{id: npm_token}` or `{env: GITHUB_TOKEN}`, got %s", p, typeName(n))
		return nil, false
	}
	s := &Secret{Loc: d.rng(n)}
	vals := map[string]string{}
	nodes := map[string]*yaml.Node{}
	for _, f := range d.fields(n, p, stageSecretKeys) {
		nodes[f.key] = f.v
		if f.key == "required" {
			s.Optional = !d.boolean(f.v, p+".required")
			continue
		}
		vals[f.key] = d.str(f.v, p+"."+f.key)
	}
	if v := nodes["value"]; v != nil {
		d.errorf(v, "`%s.value` is refused: a value written in the file is no secret (it would be in the build definition and its cache key); pass it to the build with `--secret id=%s,env=VAR` and give the id here", p, orWord(vals["id"], "ID"))
		return nil, false
	}
	if nodes["env"] != nil && nodes["src"] != nil {
		d.errorf(nodes["src"], "`%s` has both `env` and `src`: a secret has one source", p)
		return nil, false
	}
	s.ID = vals["id"]
	idNode := nodes["id"]
	switch {
	case idNode != nil:
	case nodes["env"] != nil:
		s.ID, idNode = vals["env"], nodes["env"]
	case nodes["src"] != nil:
		s.ID, idNode = path.Base(vals["src"]), nodes["src"]
	default:
		d.errorf(n, "`%s` needs `id` (or werf's `env` or `src`): the id the build gets the secret under (`--secret id=...`)", p)
		return nil, false
	}
	if !secretIDRE.MatchString(s.ID) {
		d.errorf(idNode, "`%s` gives the secret id %q: an id is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`", p, s.ID)
		return nil, false
	}
	if nodes["env"] != nil && !envNameRE.MatchString(vals["env"]) {
		d.errorf(nodes["env"], "`%s.env` must name an environment variable, got %q", p, vals["env"])
		return nil, false
	}
	return s, d.secretTarget(s, vals, nodes, p)
}

// secretTarget sets where the secret goes: a file (`to`, /run/secrets/<id>
// by default) or a variable (`toEnv`).
func (d *docDecoder) secretTarget(s *Secret, vals map[string]string, nodes map[string]*yaml.Node, p string) bool {
	to, toEnv := nodes["to"], nodes["toEnv"]
	switch {
	case to != nil && toEnv != nil:
		d.errorf(toEnv, "`%s` has both `to` and `toEnv`: a secret is a file or a variable", p)
		return false
	case toEnv != nil:
		if !envNameRE.MatchString(vals["toEnv"]) {
			d.errorf(toEnv, "`%s.toEnv` must be an environment variable name (letters, digits, `_`, not starting with a digit), got %q", p, vals["toEnv"])
			return false
		}
		s.ToEnv = vals["toEnv"]
	case to != nil:
		v := vals["to"]
		switch {
		case !path.IsAbs(v):
			d.errorf(to, "`%s.to` must be an absolute path, got %q", p, v)
			return false
		case !d.checkNoDotDot(to, p+".to", v) || !d.checkPrintable(to, p+".to", v):
			return false
		case path.Clean(v) != v:
			d.errorf(to, "`%s.to` must be a clean path to a file (no `.`, `//` or trailing `/`), got %q", p, v)
			return false
		}
		d.checkMountTarget(to, p+".to", v)
		s.To = v
	default:
		s.To = secretsDir + s.ID
	}
	return true
}

// decodeSSH reads `ssh:`: an id (`ssh: default`), a list of ids, or
// entries `{id: ..., required: false}`.
func (d *docDecoder) decodeSSH(n *yaml.Node) []*SSH {
	n = deref(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = d.list(n, "ssh")
	}
	var out []*SSH
	seen := map[string]int{}
	for i, item := range items {
		p := "ssh"
		if n.Kind == yaml.SequenceNode {
			p = fmt.Sprintf("ssh[%d]", i)
		}
		s, idNode := d.decodeSSHEntry(item, p)
		if s == nil {
			continue
		}
		if line, dup := seen[s.ID]; dup {
			d.errorf(idNode, "`%s` forwards the ssh id %q that line %d already forwards", p, s.ID, line)
			continue
		}
		seen[s.ID] = d.rng(item).Start.Line
		out = append(out, s)
	}
	return out
}

func (d *docDecoder) decodeSSHEntry(n *yaml.Node, p string) (*SSH, *yaml.Node) {
	s := &SSH{Loc: d.rng(n)}
	idNode := n
	switch deref(n).Kind {
	case yaml.ScalarNode:
		s.ID = d.str(n, p)
	case yaml.MappingNode:
		idNode = nil
		for _, f := range d.fields(n, p, sshKeys) {
			if f.key == "required" {
				s.Optional = !d.boolean(f.v, p+".required")
				continue
			}
			s.ID, idNode = d.str(f.v, p+".id"), f.v
		}
		if idNode == nil {
			d.errorf(n, "`%s` needs `id`: the ssh socket the build forwards (`--ssh default`)", p)
			return nil, nil
		}
	default:
		d.errorf(n, "`%s` must be an ssh id such as `default`, a list of them, or `{id: ..., required: false}`, got %s", p, typeName(n))
		return nil, nil
	}
	if !secretIDRE.MatchString(s.ID) {
		d.errorf(idNode, "`%s` gives the ssh id %q: an id is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`", p, s.ID)
		return nil, nil
	}
	return s, idNode
}
