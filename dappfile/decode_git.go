package dappfile

import (
	"fmt"
	"path"

	"gopkg.in/yaml.v3"
)

// gitKeys are the keys of a `git:` entry.
var gitKeys = []string{
	"as", "url", "branch", "tag", "commit", "add", "to", "owner", "group",
	"includePaths", "excludePaths", "stageDependencies",
	// werf's giterminism acknowledgement for `branch`: a branch is
	// resolved to its commit before the build, so it reads nothing.
	"herebyIAdmitThatBranchMightBreakReproducibility",
}

// decodeGits reads `git:`, a list of mappings.
func (d *docDecoder) decodeGits(n *yaml.Node) []*GitMapping {
	var out []*GitMapping
	for i, item := range d.list(n, "git") {
		out = append(out, d.decodeGit(item, fmt.Sprintf("git[%d]", i)))
	}
	return out
}

func (d *docDecoder) decodeGit(n *yaml.Node, p string) *GitMapping {
	g := &GitMapping{Loc: d.rng(n), Add: "/"}
	refs := map[string]field{}
	var to *field
	for _, f := range d.fields(n, p, gitKeys) {
		switch f.key {
		case "branch", "tag", "commit":
			refs[f.key] = f
		case "to":
			to = &f
		}
		d.decodeGitField(g, f, p+"."+f.key)
	}
	d.checkGitRefs(g, refs, p)
	if to == nil && deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "`%s` needs `to`: the absolute path the sources go to in the image", p)
	}
	return g
}

func (d *docDecoder) decodeGitField(g *GitMapping, f field, p string) {
	switch f.key {
	case "as", "url", "branch", "tag", "commit", "owner", "group":
		v := d.str(f.v, p)
		*gitString(g, f.key) = v
		d.checkGitString(f.v, p, f.key, v)
	case "add":
		g.Add = d.absPath(f.v, p)
	case "to":
		g.To = d.absPath(f.v, p)
	case "includePaths":
		g.IncludePaths = d.relPaths(f.v, p)
	case "excludePaths":
		g.ExcludePaths = d.relPaths(f.v, p)
	case "stageDependencies":
		g.StageDependencies = d.decodeStageDeps(f.v, p)
	case "herebyIAdmitThatBranchMightBreakReproducibility":
		d.boolean(f.v, p)
	}
}

// checkGitString checks the values git itself reads: a URL or ref that
// looks like an option, or a transport that runs commands, never reaches it.
func (d *docDecoder) checkGitString(n *yaml.Node, p, key, v string) {
	if deref(n).Kind != yaml.ScalarNode {
		return
	}
	switch key {
	case "url":
		d.checkGitURL(n, p, v)
	case "branch", "tag":
		d.checkGitRef(n, p, v)
	case "commit":
		d.checkCommit(n, p, v)
	default:
		d.checkPrintable(n, p, v)
	}
}

func gitString(g *GitMapping, key string) *string {
	return map[string]*string{
		"as": &g.As, "url": &g.URL, "branch": &g.Branch, "tag": &g.Tag,
		"commit": &g.Commit, "owner": &g.Owner, "group": &g.Group,
	}[key]
}

// checkGitRefs: a local mapping is the build context's checkout, so it
// takes no ref; a remote one takes at most one.
func (d *docDecoder) checkGitRefs(g *GitMapping, refs map[string]field, p string) {
	var seen []string
	for _, key := range []string{"branch", "tag", "commit"} {
		f, ok := refs[key]
		switch {
		case !ok:
			continue
		case g.URL == "":
			d.errorf(f.k, "`%s.%s` is only allowed with `url`: a local git mapping uses the build context's repository", p, key)
		case len(seen) > 0:
			d.errorf(f.k, "`%s.%s` cannot be used with `%s`: set at most one of branch, tag or commit", p, key, seen[0])
		}
		seen = append(seen, key)
	}
}

// stageDependencyStages are the stages that may have stageDependencies:
// beforeInstall runs before the sources are added.
var stageDependencyStages = []string{"install", "beforeSetup", "setup", "buildArtifact"}

func (d *docDecoder) decodeStageDeps(n *yaml.Node, p string) map[StageName][]string {
	out := map[StageName][]string{}
	known := append([]string{string(BeforeInstall)}, stageDependencyStages...)
	for _, f := range d.fields(n, p, known) {
		kp := p + "." + f.key
		switch {
		case f.key == string(BeforeInstall):
			d.errorf(f.k, "`%s` is not allowed: beforeInstall runs before the sources are added", kp)
		case f.key == string(BuildArtifact) && !d.allowBuildArtifact(f.k, kp):
		default:
			out[StageName(f.key)] = d.relPaths(f.v, kp)
		}
	}
	return out
}

// absPath decodes a path that must be absolute (add, to, fromPath).
func (d *docDecoder) absPath(n *yaml.Node, p string) string {
	v := d.str(n, p)
	if deref(n).Kind != yaml.ScalarNode {
		return v
	}
	if !path.IsAbs(v) {
		d.errorf(n, "`%s` must be an absolute path, got %q", p, v)
	} else if d.checkNoDotDot(n, p, v) {
		d.checkPrintable(n, p, v)
	}
	return v
}

// relPaths decodes include/exclude/stageDependencies globs, which are
// relative to `add`.
func (d *docDecoder) relPaths(n *yaml.Node, p string) []string {
	vals, nodes := d.strList(n, p)
	for i, v := range vals {
		if path.IsAbs(v) {
			d.errorf(nodes[i], "`%s` must hold paths relative to `add`, got absolute path %q", p, v)
		} else if d.checkNoDotDot(nodes[i], p, v) {
			d.checkPrintable(nodes[i], p, v)
		}
	}
	return vals
}
