package dappfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// FS is the build context as the loader reads it: the frontend serves it
// from BuildKit's transfer of the context, the `llb` debug command from a
// local directory (DirFS). Names are slash-separated and relative to the
// context root (fs.ValidPath); the loader checks every name a Dappfile
// gives before it asks. Symlinks resolve inside the root, as BuildKit
// resolves them in a solved state: never to a file outside the context.
type FS interface {
	// ReadFile returns the content of a regular file, or an error
	// satisfying errors.Is(err, fs.ErrNotExist) when there is none.
	ReadFile(name string) ([]byte, error)
	// Stat describes a file, following symlinks inside the root.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory; an entry's type is its own (a symlink is
	// a symlink, not what it points at).
	ReadDir(name string) ([]fs.DirEntry, error)
}

// DefaultNames are the file names tried in order when the user names no
// file: dapp's names first, so a Dappfile user's lookup never changes,
// then werf's.
var DefaultNames = []string{"Dappfile", "dappfile.yaml", "dappfile.yml", "werf.yaml", "werf.yml"}

// TemplateDirs are the folders of the build context whose `**/*.tmpl`
// files a Dappfile can `include`, keyed by their path inside the folder:
// dapp's `.dappfiles` and werf's `.werf`.
var TemplateDirs = []string{".dappfiles", ".werf"}

// templateExt marks the files of TemplateDirs that are templates.
const templateExt = ".tmpl"

// ErrNoFile is returned by FindFile when no default name exists.
var ErrNoFile = errors.New("no Dappfile or werf.yaml found")

// FindFile returns the first of DefaultNames that exists in fsys.
// Callers add how to name a file in their own words (a flag or an option).
// A Ruby DSL `Dappfile` kept beside a YAML file is passed over: dapp 0.27
// and later read only the YAML one.
func FindFile(fsys FS) (string, error) {
	var found []string
	for _, n := range DefaultNames {
		if _, err := fsys.Stat(n); err == nil {
			found = append(found, n)
		}
	}
	if len(found) > 1 && found[0] == "Dappfile" {
		if dt, err := fsys.ReadFile(found[0]); err == nil && LooksLikeRubyDSL(dt) {
			found = found[1:]
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return "", fmt.Errorf("%w: looked for %s", ErrNoFile, strings.Join(DefaultNames, ", "))
}

// IsTemplatePath reports whether name lies inside one of TemplateDirs.
func IsTemplatePath(name string) bool {
	for _, d := range TemplateDirs {
		if name == d || strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return false
}

// ReadTemplates reads `**/*.tmpl` of every folder in TemplateDirs, keyed by
// the path inside the folder, with the path of each in the context (for
// ParseOpt.Templates and TemplatePaths). Only regular files count and
// symlinks are not followed, as BuildKit transfers them; a missing folder
// is no error. One name in two folders is refused: include could not
// tell them apart.
func ReadTemplates(fsys FS) (map[string][]byte, map[string]string, error) {
	out, paths := map[string][]byte{}, map[string]string{}
	for _, dir := range TemplateDirs {
		err := walkFiles(fsys, dir, func(p string) error {
			if !strings.HasSuffix(p, templateExt) {
				return nil
			}
			name := strings.TrimPrefix(p, dir+"/")
			if prev, dup := paths[name]; dup {
				return fmt.Errorf("template %q is both %s and %s: rename one, include names a template by its path inside the folder", name, prev, p)
			}
			dt, err := fsys.ReadFile(p)
			if err != nil {
				return err
			}
			out[name], paths[name] = dt, p
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return out, paths, nil
}

// walkFiles calls fn for every regular file below dir, in name order.
func walkFiles(fsys FS, dir string, fn func(string) error) error {
	entries, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := path.Join(dir, e.Name())
		switch {
		case e.Type().IsDir():
			if err := walkFiles(fsys, name, fn); err != nil {
				return err
			}
		case e.Type().IsRegular():
			if err := fn(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadOpt is what Load reads besides the Dappfile's bytes.
type LoadOpt struct {
	// Werf: see ParseOpt.
	Werf bool
	// BuildArgs answer `env "NAME"` (see ParseOpt).
	BuildArgs map[string]string
	// Context serves the templates and `.Files.Get`; nil means the
	// Dappfile stands alone.
	Context FS
	// Commit answers werf's `.Commit` (see ParseOpt).
	Commit func() (Commit, error)
}

// Load reads a Dappfile the same way wherever it runs: templates from the
// context's TemplateDirs, `.Files.Get` from the context, then Parse.
//
// A Dappfile without a template action renders to itself whatever the
// template folders hold, so Load reads nothing of the context for it: in
// a frontend every read of the context is a transfer, a solve of the
// daemon's on every build, and most Dappfiles have no action. A template
// that nothing can include is then not read, and its syntax errors do not
// fail the build, as they do in dapp and werf, which parse every template.
func Load(data []byte, opt LoadOpt) (*Config, []Warning, error) {
	popt := ParseOpt{Werf: opt.Werf, BuildArgs: opt.BuildArgs, Commit: opt.Commit}
	if opt.Context != nil && HasTemplateActions(data) {
		templates, paths, err := ReadTemplates(opt.Context)
		if err != nil {
			return nil, nil, err
		}
		popt.Templates, popt.TemplatePaths = templates, paths
		popt.ReadFile = opt.Context.ReadFile
	}
	return Parse(data, popt)
}

// HasTemplateActions reports whether data may hold a text/template action:
// whether it has the left delimiter anywhere, in a comment or a quoted
// string too, so that no Dappfile that renders differently is taken for
// plain YAML.
func HasTemplateActions(data []byte) bool {
	return bytes.Contains(data, []byte("{{"))
}
