package dappfile

import (
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// dockerfileDocKeys are the keys of a werf `dockerfile:` image that are
// read (the refused ones are in werfRefusals).
var dockerfileDocKeys = []string{
	"image", "final", "dockerfile", "context", "contextAddFile", "contextAddFiles",
	"target", "args", "addHost", "network", "ssh", "secrets", "staged",
}

// networkModes are the RUN network modes BuildKit knows.
var networkModes = []string{"default", "none", "host"}

// decodeDockerfileImages reads a werf image built from a Dockerfile: one
// Image per name, each with Dockerfile set.
func (d *docDecoder) decodeDockerfileImages(n *yaml.Node) []*Image {
	d.docType = docDockerfile
	fields := d.fields(n, "", dockerfileDocKeys)
	var nameNode *yaml.Node
	for _, f := range fields {
		if f.key == "image" {
			nameNode = f.v
		}
	}
	if nameNode == nil {
		d.errorf(n, "a `dockerfile:` document needs `image: NAME`")
		return nil
	}
	names := d.dimgNames(nameNode)
	var out []*Image
	for i, name := range names {
		d.quiet = i > 0
		if name == "" && deref(nameNode).Kind == yaml.ScalarNode {
			d.errorf(nameNode, "a `dockerfile:` image needs a name (`image: NAME`)")
		}
		im := &Image{Kind: KindImage, Name: name, Loc: d.rng(n), NameLoc: d.rng(nameNode), Dockerfile: &DockerfileImage{}}
		for _, f := range fields {
			d.decodeDockerfileField(im, f)
		}
		out = append(out, im)
	}
	d.quiet = false
	return out
}

func (d *docDecoder) decodeDockerfileField(im *Image, f field) {
	df := im.Dockerfile
	switch f.key {
	case "final":
		im.Intermediate = !d.boolean(f.v, f.key)
	case "dockerfile":
		df.Loc = d.rng(f.v)
		df.Dockerfile = d.contextPath(f.v, f.key)
		if df.Dockerfile == "" {
			d.errorf(f.v, "`dockerfile` must name the Dockerfile, relative to `context`")
		}
	case "context":
		df.ContextLoc = d.rng(f.v)
		df.Context = d.contextPath(f.v, f.key)
	case "contextAddFile", "contextAddFiles":
		// werf builds the context from git and adds these untracked
		// files; BuildKit transfers the directory as it is, untracked
		// files included, so they are there already.
		_, nodes := d.strList(f.v, f.key)
		for i, node := range nodes {
			d.contextPath(node, fmt.Sprintf("%s[%d]", f.key, i))
		}
	case "target":
		df.Target = d.str(f.v, f.key)
	case "args":
		df.Args = d.keyValues(f.v, f.key)
	case "addHost":
		df.AddHost = d.addHosts(f.v)
	case "network":
		df.Network = d.str(f.v, f.key)
		if !contains(networkModes, df.Network) {
			d.errorf(f.v, "`network` must be one of %s, got %q%s", strings.Join(networkModes, ", "), df.Network, didYouMean(df.Network, networkModes))
		}
	case "ssh":
		d.str(f.v, f.key)
		d.warnf(f.k, "`ssh` is given by the client, not the file: build with --ssh default (buildx and buildctl); the Dockerfile's RUN --mount=type=ssh uses it")
	case "secrets":
		d.dockerfileSecrets(f.v)
	case "staged":
		// werf's layer-by-layer registry cache: BuildKit caches every
		// Dockerfile step anyway.
		d.boolean(f.v, f.key)
	}
}

// contextPath reads a path relative to the build context that must stay
// inside it ("" and "." are the root).
func (d *docDecoder) contextPath(n *yaml.Node, p string) string {
	v := d.str(n, p)
	if v == "" {
		return ""
	}
	clean := path.Clean(v)
	switch {
	case path.IsAbs(v):
		d.errorf(n, "`%s` must be a path relative to the build context, got absolute path %q", p, v)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		d.errorf(n, "`%s` must stay inside the build context, got %q", p, v)
	case clean == ".":
		return ""
	}
	return clean
}

// addHosts reads `addHost`: host:ip entries.
func (d *docDecoder) addHosts(n *yaml.Node) []string {
	vals, nodes := d.strList(n, "addHost")
	for i, v := range vals {
		host, ip, ok := strings.Cut(v, ":")
		if !ok || host == "" || ip == "" {
			d.errorf(nodes[i], "`addHost[%d]` must be HOST:IP, got %q", i, v)
		}
	}
	return vals
}

// dockerfileSecrets checks `secrets:` of a dockerfile image as for a
// stapel image and says how to pass each one: a frontend cannot read the
// client's environment or files, the client sends them (--secret), and the
// Dockerfile's RUN --mount=type=secret reads them.
func (d *docDecoder) dockerfileSecrets(n *yaml.Node) {
	for i, item := range d.list(n, "secrets") {
		p := fmt.Sprintf("secrets[%d]", i)
		s, ok := d.decodeSecret(item, p)
		if !ok {
			continue
		}
		src := "env=VAR"
		for _, f := range mappingPairs(item) {
			switch f.key {
			case "env":
				src = "env=" + f.v.Value
			case "src":
				src = "src=" + f.v.Value
			}
		}
		d.warnf(item, "`%s` is passed by the client: build with --secret id=%s,%s", p, s.ID, src)
	}
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
