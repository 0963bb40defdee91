package dappfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// maxIncludeDepth stops `include` recursion before it overflows the stack.
const maxIncludeDepth = 64

// renderer renders the Dappfile template (dapp renders the whole file as a
// Go template before reading the YAML).
type renderer struct {
	opt      ParseOpt
	filename string
	original string
	root     *template.Template
	depth    int
	warns    []Warning
	argsRead map[string]bool
}

// templateData is the dot of the Dappfile template. It is a map, as in
// dapp and werf, because sprig's set/get/hasKey/unset work on
// map[string]interface{} only and dapp's documented way to share a value
// between documents and included templates is
// `{{ $_ := set . "Key" "value" }}` … `{{ .Key }}`. "Files" reads files of
// the build context: {{ .Files.Get "path" }}.
func (r *renderer) templateData() map[string]any {
	return map[string]any{"Files": templateFiles{r}}
}

// templateFiles implements `.Files`.
type templateFiles struct{ r *renderer }

// Get returns the content of a build-context file, or "" with a warning
// when it does not exist (dapp's behaviour).
func (f templateFiles) Get(path string) (string, error) {
	return f.r.readFile(path)
}

func renderTemplate(data []byte, filename string, opt ParseOpt) (string, []Warning, []string, error) {
	r := &renderer{opt: opt, filename: filename, original: string(data)}
	out, err := r.render()
	return out, r.warns, r.buildArgNames(), err
}

func (r *renderer) render() (string, error) {
	r.root = template.New(r.filename).Option("missingkey=error").Funcs(r.funcs())
	if _, err := r.root.Parse(r.original); err != nil {
		return "", r.templateError(err)
	}
	if err := r.parseTemplates(); err != nil {
		return "", err
	}
	var out strings.Builder
	if err := r.root.Execute(&out, r.templateData()); err != nil {
		return "", r.templateError(err)
	}
	return out.String(), nil
}

// parseTemplates registers every .dappfiles template under its path and
// its `define`d names. Sorted, so that a name defined twice resolves the same
// way on every run.
func (r *renderer) parseTemplates() error {
	names := make([]string, 0, len(r.opt.Templates))
	for name := range r.opt.Templates {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := r.root.New(name).Parse(string(r.opt.Templates[name])); err != nil {
			return r.templateError(err)
		}
	}
	return nil
}

// funcs is Sprig plus dapp's functions. env and expandenv read build args,
// not the frontend's own environment; getHostByName is removed because a
// build definition must not depend on DNS.
func (r *renderer) funcs() template.FuncMap {
	fm := sprig.TxtFuncMap()
	delete(fm, "getHostByName")
	fm["env"] = r.buildArg
	fm["expandenv"] = func(s string) string { return os.Expand(s, r.buildArg) }
	fm["include"] = r.include
	return fm
}

// buildArg answers env and records the name, so the outline can list the
// build args the Dappfile reads.
func (r *renderer) buildArg(name string) string {
	if r.argsRead == nil {
		r.argsRead = map[string]bool{}
	}
	r.argsRead[name] = true
	return r.opt.BuildArgs[name]
}

// buildArgNames lists the names read with env, sorted.
func (r *renderer) buildArgNames() []string {
	names := make([]string, 0, len(r.argsRead))
	for n := range r.argsRead {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *renderer) include(name string, data any) (string, error) {
	if r.root.Lookup(name) == nil {
		return "", fmt.Errorf("no template %q%s", name, didYouMean(name, r.templateNames()))
	}
	if r.depth >= maxIncludeDepth {
		return "", fmt.Errorf("include %q: nested more than %d levels (recursive include?)", name, maxIncludeDepth)
	}
	r.depth++
	defer func() { r.depth-- }()
	var out strings.Builder
	err := r.root.ExecuteTemplate(&out, name, data)
	return out.String(), err
}

func (r *renderer) templateNames() []string {
	var names []string
	for _, t := range r.root.Templates() {
		names = append(names, t.Name())
	}
	return names
}

func (r *renderer) readFile(path string) (string, error) {
	if r.opt.ReadFile == nil {
		r.warnMissing(path, "no build context files are available")
		return "", nil
	}
	data, err := r.opt.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.warnMissing(path, "file not found")
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf(".Files.Get %q: %w", path, err)
	}
	return string(data), nil
}

// warnMissing warns about a missing .Files.Get file at the first original
// line that reads it (text/template does not tell functions where they
// were called from).
func (r *renderer) warnMissing(path, why string) {
	w := Warning{Filename: r.filename, Message: fmt.Sprintf(".Files.Get %q: %s, using an empty string", path, why)}
	for i, line := range splitLines(r.original) {
		if col := strings.Index(line, strconv.Quote(path)); col >= 0 && strings.Contains(line, "Files.Get") {
			w.Range = pointRange(i+1, col+1)
			break
		}
	}
	r.warns = append(r.warns, w)
}

// templateErrorRE matches text/template's "template: NAME:LINE[:COL]: "
// prefix, the outermost one first.
var templateErrorRE = regexp.MustCompile(`^template: (.+?):(\d+)(?::(\d+))?: `)

// templateError turns a text/template error into a LocationError at the
// line of the original file (or of the .dappfiles template) it names.
func (r *renderer) templateError(err error) error {
	msg := err.Error()
	m := templateErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return &LocationError{Filename: r.filename, Err: fmt.Errorf("template: %s", strings.TrimPrefix(msg, "template: "))}
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	filename := r.filename
	if m[1] != r.filename {
		filename = ".dappfiles/" + m[1]
	}
	return &LocationError{
		Filename: filename,
		Ranges:   []Range{pointRange(line, col+1)}, // text/template columns are 0-based
		Err:      errors.New("template: " + hideGoTypes(msg[len(m[0]):])),
	}
}

// fieldErrorRE matches text/template's "can't evaluate field X in type T",
// where T is a Go type the user never wrote.
var fieldErrorRE = regexp.MustCompile(`(can't evaluate field \S+) in type .*`)

// missingKeyRE matches missingkey=error's report of a key no one set.
var missingKeyRE = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// notMapRE matches text/template's report of sprig's set/get/hasKey/unset
// called on something that is not a map, typically `.` inside range/with.
var notMapRE = regexp.MustCompile(`wrong type for value; expected map\[string\]interface \{\}; got (\S+)`)

// hideGoTypes rewrites text/template's messages about the template data in
// the user's terms. An unset key is an error rather than "<no value>" in
// the YAML (missingkey=error), so a typo never builds silently.
func hideGoTypes(msg string) string {
	msg = missingKeyRE.ReplaceAllString(msg, "key \"$1\" is not set (the template data holds .Files and the keys that "+
		"`set . \"KEY\" VALUE` added before this line; test an optional key with `hasKey . \"$1\"`; inside range or with, the data is $$)")
	msg = notMapRE.ReplaceAllString(msg, "set, get, hasKey and unset need a map (the template data or a dict), got a value of type $1; inside range or with, the template data is $$")
	return fieldErrorRE.ReplaceAllString(msg, "$1 (the template data holds .Files and the keys set with `set . \"KEY\" VALUE`; inside range or with, use $$.Files)")
}

func pointRange(line, col int) Range {
	p := Position{Line: line, Column: col}
	return Range{Start: p, End: p}
}
