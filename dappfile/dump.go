package dappfile

import (
	"fmt"
	"slices"
	"strings"
)

// Dump renders a Config as readable text, one value per line with its
// position: for golden tests and debugging. The format may change.
func Dump(c *Config) string {
	w := &dumper{}
	if m := c.Meta; m != nil {
		w.line("meta @%s project %q@%s", m.Loc, m.Project, m.ProjectLoc)
		w.opt("  build.cacheVersion", m.CacheVersion)
	}
	for _, im := range c.Images {
		w.image(im)
	}
	return w.String()
}

type dumper struct {
	strings.Builder
	indent int
}

func (w *dumper) line(format string, args ...any) {
	w.WriteString(strings.Repeat("  ", w.indent))
	fmt.Fprintf(w, format, args...)
	w.WriteString("\n")
}

// opt writes `key value` only when value is set.
func (w *dumper) opt(key, value string) {
	if value != "" {
		w.line("%s %q", key, value)
	}
}

func (w *dumper) list(key string, values []string) {
	if values != nil {
		w.line("%s %s", key, quoteAll(values))
	}
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (r Range) String() string {
	return fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
}

func (w *dumper) image(im *Image) {
	w.line("%s %q @%s name@%s", im.Kind, im.Name, im.Loc, im.NameLoc)
	w.indent++
	defer func() { w.indent-- }()
	w.opt("from", im.From)
	w.opt("fromDimg", im.FromDimg)
	w.opt("fromDimgArtifact", im.FromDimgArtifact)
	if im.FromLoc != (Range{}) {
		w.line("fromLoc @%s", im.FromLoc)
	}
	w.opt("fromCacheVersion", im.FromCacheVersion)
	w.list("cacheVersion", im.CacheVersion)
	if im.Intermediate {
		w.line("final false")
	}
	if im.DisableGitAfterPatch {
		w.line("disableGitAfterPatch true")
	}
	w.dockerfile(im.Dockerfile)
	if im.AsLayers {
		w.line("asLayers true")
	}
	for i, g := range im.Git {
		w.git(i, g)
	}
	w.shell(im.Shell)
	w.ansible(im.Ansible)
	for i, m := range im.Mounts {
		w.line("mount[%d] @%s from %s to %q", i, m.Loc, m.From, m.To)
		w.opt("  fromPath", m.FromPath)
	}
	for i, imp := range im.Imports {
		w.importEntry(i, imp)
	}
	for i, s := range im.Secrets {
		w.line("secret[%d] @%s id %q to %q toEnv %q optional %t", i, s.Loc, s.ID, s.To, s.ToEnv, s.Optional)
	}
	for i, s := range im.SSH {
		w.line("ssh[%d] @%s id %q optional %t", i, s.Loc, s.ID, s.Optional)
	}
	w.docker(im.Docker)
}

func (w *dumper) git(i int, g *GitMapping) {
	w.line("git[%d] @%s", i, g.Loc)
	w.indent++
	defer func() { w.indent-- }()
	for _, kv := range [][2]string{{"as", g.As}, {"url", g.URL}, {"branch", g.Branch}, {"tag", g.Tag},
		{"commit", g.Commit}, {"add", g.Add}, {"to", g.To}, {"owner", g.Owner}, {"group", g.Group}} {
		w.opt(kv[0], kv[1])
	}
	w.list("includePaths", g.IncludePaths)
	w.list("excludePaths", g.ExcludePaths)
	for _, s := range allStages() {
		if deps, ok := g.StageDependencies[s]; ok {
			w.list("stageDependencies."+string(s), deps)
		}
	}
}

func (w *dumper) shell(sh *Shell) {
	if sh == nil {
		return
	}
	w.line("shell @%s", sh.Loc)
	w.indent++
	defer func() { w.indent-- }()
	w.opt("cacheVersion", sh.CacheVersion)
	for _, s := range allStages() {
		if sc := sh.Stages[s]; sc != nil {
			w.line("%s @%s cacheVersion %q", s, sc.Loc, sc.CacheVersion)
			w.list("  commands", sc.Commands)
		}
	}
}

func (w *dumper) ansible(an *Ansible) {
	if an == nil {
		return
	}
	w.line("ansible @%s", an.Loc)
	w.indent++
	defer func() { w.indent-- }()
	w.opt("cacheVersion", an.CacheVersion)
	for _, s := range allStages() {
		st := an.Stages[s]
		if st == nil {
			continue
		}
		w.line("%s @%s cacheVersion %q", s, st.Loc, st.CacheVersion)
		for i, t := range st.Tasks {
			w.line("  task[%d] @%s modules %q", i, t.Loc, t.Modules)
			w.list("    commands", t.Commands)
		}
	}
}

func (w *dumper) importEntry(i int, imp *Import) {
	point := "after"
	if imp.Point.Before {
		point = "before"
	}
	key := "artifact"
	if imp.AnyKind {
		key = "image"
	}
	w.line("import[%d] @%s %s %q %s %s", i, imp.Loc, key, imp.Artifact, point, imp.Point.Stage)
	w.indent++
	defer func() { w.indent-- }()
	w.line("add %q to %q", imp.Add, imp.To)
	w.opt("stage", string(imp.Stage))
	w.opt("owner", imp.Owner)
	w.opt("group", imp.Group)
	w.list("includePaths", imp.IncludePaths)
	w.list("excludePaths", imp.ExcludePaths)
}

func (w *dumper) dockerfile(df *DockerfileImage) {
	if df == nil {
		return
	}
	w.line("dockerfile %q @%s context %q", df.Dockerfile, df.Loc, df.Context)
	w.indent++
	defer func() { w.indent-- }()
	w.opt("target", df.Target)
	for _, kv := range df.Args {
		w.line("arg %s=%q", kv.Key, kv.Value)
	}
	w.list("addHost", df.AddHost)
	w.opt("network", df.Network)
}

func (w *dumper) docker(dk *Docker) {
	if dk == nil {
		return
	}
	w.line("docker @%s", dk.Loc)
	w.indent++
	defer func() { w.indent-- }()
	w.list("VOLUME", dk.Volume)
	w.list("EXPOSE", dk.Expose)
	for _, kv := range dk.Env {
		w.line("ENV %s=%q", kv.Key, kv.Value)
	}
	for _, kv := range dk.Label {
		w.line("LABEL %s=%q", kv.Key, kv.Value)
	}
	w.command("ENTRYPOINT", dk.Entrypoint)
	w.command("CMD", dk.Cmd)
	w.opt("WORKDIR", dk.Workdir)
	w.opt("USER", dk.User)
	w.list("ONBUILD", dk.Onbuild)
	w.opt("STOPSIGNAL", dk.StopSignal)
	if hc := dk.Healthcheck; hc != nil {
		w.line("HEALTHCHECK test %s interval %q timeout %q startPeriod %q retries %d",
			quoteAll(hc.Test), hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries)
	}
}

func (w *dumper) command(key string, c *Command) {
	switch {
	case c == nil:
	case c.IsShell:
		w.line("%s shell %q", key, c.Shell)
	default:
		w.line("%s exec %s", key, quoteAll(c.Exec))
	}
}

// allStages lists every user stage, BuildArtifact last.
func allStages() []StageName {
	return append(slices.Clip(UserStages), BuildArtifact)
}
