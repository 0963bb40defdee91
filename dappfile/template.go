package dappfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	pathpkg "path"
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
	original string
	root     *template.Template
	depth    int
	budget   *budget
	// includeErr is the error of the innermost include that failed:
	// text/template wraps it once per enclosing include, and the innermost
	// location is where the problem is.
	includeErr error
	warns      []Warning
	argsRead   map[string]bool
	// funcMap is the functions of every template, tpl's included.
	funcMap  template.FuncMap
	tplCount int
	// missingKeyOpt is text/template's missingkey option of this render,
	// tpl's templates included; missingKey is set when the render stopped
	// at a key no one set.
	missingKeyOpt string
	missingKey    bool
}

// templateData is the dot of the Dappfile template. It is a map, as in
// dapp and werf, because sprig's set/get/hasKey/unset work on
// map[string]interface{} only and dapp's documented way to share a value
// between documents and included templates is
// `{{ $_ := set . "Key" "value" }}` … `{{ .Key }}`. "Files" reads files of
// the build context: {{ .Files.Get "path" }}.
func (r *renderer) templateData() map[string]any {
	data := map[string]any{"Files": templateFiles{r}}
	r.werfData(data)
	return data
}

// templateFiles implements `.Files`.
type templateFiles struct{ r *renderer }

// String keeps `{{ . }}` deterministic: without it the renderer's
// address would be printed.
func (templateFiles) String() string { return "{Files}" }

// Get returns the content of a build-context file, or "" with a warning
// when it does not exist (dapp's behaviour).
func (f templateFiles) Get(path string) (string, error) {
	return f.r.readFile(path)
}

// rootTemplate names the file in text/template's messages ("executing
// "Dappfile" at <...>"): its kind, as its name is not known below the
// frontend.
func (r *renderer) rootTemplate() string {
	if r.opt.Werf {
		return "werf.yaml"
	}
	return "Dappfile"
}

func renderTemplate(data []byte, opt ParseOpt) (string, []Warning, []string, error) {
	r := newRenderer(data, opt)
	out, err := r.render(missingKeyError)
	if err != nil && r.missingKey {
		// dapp and werf render with text/template's default for a key no
		// one set: false in `if`/`with`/`and`/`or`, nil for `default`, and
		// "<no value>" when printed. Real files guard optional keys with
		// `{{ if .Key }}`, so a render that only tests unset keys must
		// build; one that prints an unset key keeps the strict render's
		// error, which names the key and its line instead of writing
		// "<no value>" into the YAML.
		lenient := newRenderer(data, opt)
		lout, lerr := lenient.render(missingKeyDefault)
		switch {
		case lerr != nil:
		case !strings.Contains(lout, noValue):
			return lout, lenient.warns, lenient.buildArgNames(), nil
		default:
			err = printedUnsetKey(string(data), lout, err)
		}
	}
	return out, r.warns, r.buildArgNames(), err
}

// printedUnsetKey locates the first "<no value>" of a lenient render. The
// strict render's error names the key, unless it stopped earlier in the
// Dappfile, at a key that was only tested: then the printing line is told.
func printedUnsetKey(original, rendered string, strict error) error {
	n := strings.Count(rendered[:strings.Index(rendered, noValue)], "\n") + 1
	line := newLineMap(original, rendered).line(n)
	var le *LocationError
	if !errors.As(strict, &le) || le.File != "" || len(le.Ranges) == 0 || le.Ranges[0].Start.Line >= line {
		return strict
	}
	return &LocationError{
		Ranges: []Range{pointRange(line, 1)},
		Err: errors.New("template: this line prints a key no one set (text/template would write \"<no value>\" here): " +
			"set it with `set . \"KEY\" VALUE` before this line, or print it only under `if` or `hasKey`"),
	}
}

// The two ways renderTemplate renders a key no one set, and what
// text/template prints for it in the lenient one.
const (
	missingKeyError   = "missingkey=error"
	missingKeyDefault = "missingkey=default"
	noValue           = "<no value>"
)

func newRenderer(data []byte, opt ParseOpt) *renderer {
	r := &renderer{opt: opt, original: string(data)}
	r.budget = &budget{r: r}
	return r
}

func (r *renderer) render(missingKey string) (string, error) {
	if err := r.checkSizes(); err != nil {
		return "", err
	}
	funcs := r.funcs()
	r.funcMap = funcs
	r.missingKeyOpt = missingKey
	r.root = template.New(r.rootTemplate()).Option(missingKey).Funcs(funcs)
	if _, err := r.root.Parse(r.original); err != nil {
		return "", r.templateError(err)
	}
	if err := r.parseTemplates(); err != nil {
		return "", err
	}
	if err := r.budget.instrument(r.root, funcs); err != nil {
		return "", &LocationError{Err: fmt.Errorf("template: %w", err)}
	}
	var out strings.Builder
	w := &limitedWriter{b: r.budget, w: &out, limit: MaxRenderedSize, what: "the rendered Dappfile"}
	if err := r.root.Execute(w, r.templateData()); err != nil {
		switch {
		case r.budget.err != nil:
			return "", r.budget.err
		case r.includeErr != nil:
			r.missingKey = missingKeyRE.MatchString(r.includeErr.Error())
			return "", r.templateError(r.includeErr)
		}
		r.missingKey = missingKeyRE.MatchString(err.Error())
		return "", r.templateError(err)
	}
	return out.String(), nil
}

// checkSizes refuses a Dappfile or templates too large to read.
func (r *renderer) checkSizes() error {
	if len(r.original) > MaxDappfileSize {
		return &LocationError{Err: fmt.Errorf("the Dappfile is %s, more than the limit of %s", sizeString(int64(len(r.original))), sizeString(MaxDappfileSize))}
	}
	total := 0
	for _, t := range r.opt.Templates {
		total += len(t)
	}
	if total > MaxTemplatesSize {
		return &LocationError{Err: fmt.Errorf("the %s templates add up to %s, more than the limit of %s", ".dappfiles", sizeString(int64(total)), sizeString(MaxTemplatesSize))}
	}
	return nil
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
// not the frontend's own environment. Every function is wrapped to bound
// its work (see budget), and the functions that would make the build
// depend on time, chance or DNS refuse with the reason (refusedFuncs).
func (r *renderer) funcs() template.FuncMap {
	fm := sprig.TxtFuncMap()
	fm["env"] = r.buildArg
	fm["expandenv"] = func(s string) string { return os.Expand(s, r.buildArg) }
	fm["include"] = r.include
	r.werfFuncs(fm)
	// text/template's own string builders, so that their output is
	// bounded like Sprig's
	fm["print"], fm["printf"], fm["println"] = fmt.Sprint, fmt.Sprintf, fmt.Sprintln
	fm["html"], fm["js"], fm["urlquery"] = template.HTMLEscaper, template.JSEscaper, template.URLQueryEscaper
	for name, fn := range fm {
		fm[name] = r.budget.wrap(name, fn)
	}
	for name, why := range refusedFuncs {
		fm[name] = refuse(name, why)
	}
	fm[stepFunc] = r.budget.step
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
	if r.budget.calls >= MaxTemplateCalls {
		return "", fmt.Errorf("include %q: more than %d template calls (a recursive include?)", name, MaxTemplateCalls)
	}
	r.depth++
	defer func() { r.depth-- }()
	var out strings.Builder
	w := &limitedWriter{b: r.budget, w: &out, limit: MaxTemplateValue, what: fmt.Sprintf("the output of include %q", name)}
	err := r.root.ExecuteTemplate(w, name, data)
	if err != nil && r.includeErr == nil {
		r.includeErr = err
	}
	return out.String(), err
}

func (r *renderer) templateNames() []string {
	var names []string
	for _, t := range r.root.Templates() {
		names = append(names, t.Name())
	}
	return names
}

func (r *renderer) readFile(name string) (string, error) {
	path, err := contextPath(name)
	if err != nil {
		return "", err
	}
	if r.opt.ReadFile == nil {
		r.warnMissing(name, "no build context files are available")
		return "", nil
	}
	data, err := r.opt.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.warnMissing(name, "file not found")
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf(".Files.Get %q: %w", path, err)
	}
	if len(data) > MaxTemplateValue {
		return "", fmt.Errorf(".Files.Get %q: the file is %s, more than the limit of %s", path, sizeString(int64(len(data))), sizeString(MaxTemplateValue))
	}
	return string(data), nil
}

// contextPath checks a `.Files.Get` path: relative to the build context
// and inside it. The frontend could not read anything else (BuildKit
// transfers only the context), so saying it beats a "not found".
func contextPath(name string) (string, error) {
	if pathpkg.IsAbs(name) {
		return "", fmt.Errorf(".Files.Get %q: an absolute path; give the path relative to the build context root", name)
	}
	p := pathpkg.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf(".Files.Get %q: the path leads outside the build context; only its files can be read", name)
	}
	return p, nil
}

// warnMissing warns about a missing .Files.Get file at the first original
// line that reads it (text/template does not tell functions where they
// were called from).
func (r *renderer) warnMissing(path, why string) {
	w := Warning{Message: fmt.Sprintf(".Files.Get %q: %s, using an empty string", path, why)}
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
		return &LocationError{Err: fmt.Errorf("template: %s", strings.TrimPrefix(msg, "template: "))}
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	file, text := "", r.original
	if m[1] != r.rootTemplate() {
		file, text = r.templatePath(m[1]), string(r.opt.Templates[m[1]])
	}
	if m[3] == "" { // a parse error: text/template reads an unclosed action on
		if open, ok := unclosedAction(text); ok && open.Line <= line {
			return &LocationError{
				File:   file,
				Ranges: []Range{{Start: open, End: open}},
				Err:    fmt.Errorf("template: this `{{` has no matching `}}` (text/template read on and reports: %s)", msg[len(m[0]):]),
			}
		}
		if msg[len(m[0]):] == "unexpected EOF" {
			if keyword, open, n, ok := unclosedBlock(text); ok {
				more := ""
				if n > 1 {
					more = fmt.Sprintf(" (%d blocks are open at the end; this is the outermost)", n)
				}
				return &LocationError{
					File:   file,
					Ranges: []Range{{Start: open, End: open}},
					Err:    fmt.Errorf("template: this `{{ %s }}` has no `{{ end }}` before the end of the file%s", keyword, more),
				}
			}
		}
	}
	return &LocationError{
		File:   file,
		Ranges: []Range{pointRange(line, col+1)}, // text/template columns are 0-based
		Err:    errors.New("template: " + hideGoTypes(msg[len(m[0]):])),
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
// the user's terms. An unset key that is printed is an error rather than
// "<no value>" in the YAML (see renderTemplate), so a typo never builds
// silently.
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
