package dappfile

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

// werf's template data and functions, for werf.yaml files (a Dappfile
// may use them too: one renderer serves both formats).
//
//   - .Env is werf's `--env` (the deploy environment); a frontend reads it
//     from the build arg WERF_ENV.
//   - .Commit.Hash, .Commit.Date.Human and .Commit.Date.Unix describe the
//     context repository's HEAD.
//   - .Files.Exists; .Files.Glob and .Files.IsDir are refused with what to
//     do instead.
//   - required, tpl, fromYaml, and `env NAME DEFAULT`; the *_debug
//     functions print nothing, as werf does without --debug-templates.

// WerfEnvArg is the build arg `.Env` reads: werf's --env option, whose
// environment variable is WERF_ENV.
const WerfEnvArg = "WERF_ENV"

// Commit describes the HEAD commit of the build context's repository.
type Commit struct {
	Hash string
	Time time.Time
}

// werfData adds werf's keys to the template data.
func (r *renderer) werfData(data map[string]any) {
	data["Env"] = r.opt.BuildArgs[WerfEnvArg]
	data["Commit"] = templateCommit{r}
}

// templateCommit implements `.Commit`, read only when a template asks.
type templateCommit struct{ r *renderer }

func (templateCommit) String() string { return "{Commit}" }

func (c templateCommit) commit() (Commit, error) {
	if c.r.opt.Commit == nil {
		return Commit{}, errors.New(".Commit needs the build context's git repository, and there is none")
	}
	return c.r.opt.Commit()
}

// Hash is the HEAD commit's hash.
func (c templateCommit) Hash() (string, error) {
	cm, err := c.commit()
	return cm.Hash, err
}

// Date is the HEAD commit's committer date.
func (c templateCommit) Date() (commitDate, error) {
	cm, err := c.commit()
	return commitDate{cm.Time}, err
}

type commitDate struct{ t time.Time }

// Human is the date as werf prints it (Go's time.Time.String).
func (d commitDate) Human() string { return d.t.String() }

// Unix is the date in seconds since the epoch.
func (d commitDate) Unix() string { return strconv.FormatInt(d.t.Unix(), 10) }

// Exists reports whether a file of the build context exists.
func (f templateFiles) Exists(path string) (bool, error) {
	if f.r.opt.ReadFile == nil {
		return false, nil
	}
	_, err := f.r.opt.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf(".Files.Exists %q: %w", path, err)
	}
	return true, nil
}

// Glob is werf's; the frontend reads context files one by one.
func (templateFiles) Glob(pattern string) (map[string]any, error) {
	return nil, fmt.Errorf(".Files.Glob %q is not supported: read each file with .Files.Get \"PATH\"", pattern)
}

// IsDir is werf's; the frontend reads context files one by one.
func (templateFiles) IsDir(path string) (bool, error) {
	return false, fmt.Errorf(".Files.IsDir %q is not supported: test a file inside it with .Files.Exists \"PATH\"", path)
}

// werfFuncs adds werf's functions to fm.
func (r *renderer) werfFuncs(fm template.FuncMap) {
	fm["env"] = r.env
	fm["required"] = required
	fm["fromYaml"] = fromYaml
	fm["tpl"] = r.tpl
	for _, name := range []string{"include_debug", "tpl_debug", "printf_debug"} {
		fm[name] = func(...any) string { return "" }
	}
}

// env is dapp's `env NAME` and werf's `env NAME DEFAULT`: the build arg,
// or the default when it is empty.
func (r *renderer) env(name string, def ...string) (string, error) {
	if len(def) > 1 {
		return "", fmt.Errorf("env %q: at most one default value, got %d", name, len(def))
	}
	v := r.buildArg(name)
	if v == "" && len(def) == 1 {
		return def[0], nil
	}
	return v, nil
}

// required fails with msg when val is missing or empty (werf and Helm).
func required(msg string, val any) (any, error) {
	if s, ok := val.(string); val == nil || ok && s == "" {
		return val, errors.New(msg)
	}
	return val, nil
}

// fromYaml parses a YAML mapping (werf's function).
func fromYaml(s string) (map[string]any, error) {
	out := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("fromYaml: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return out, nil
}

// tpl renders text as a template with data (werf and Helm). It is a
// template set of its own, bounded like the file: its steps count
// against the same budget and it nests like include.
func (r *renderer) tpl(text string, data any) (string, error) {
	if r.depth >= maxIncludeDepth {
		return "", fmt.Errorf("tpl: nested more than %d levels (a recursive tpl?)", maxIncludeDepth)
	}
	r.tplCount++
	t, err := template.New(fmt.Sprintf("tpl#%d", r.tplCount)).Option(r.missingKeyOpt).Funcs(r.funcMap).Parse(text)
	if err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	if err := r.budget.instrument(t, r.funcMap); err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	r.depth++
	defer func() { r.depth-- }()
	var out strings.Builder
	w := &limitedWriter{b: r.budget, w: &out, limit: MaxTemplateValue, what: "the output of tpl"}
	if err := t.Execute(w, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// templatePath is where template name lives in the build context.
func (r *renderer) templatePath(name string) string {
	if p, ok := r.opt.TemplatePaths[name]; ok {
		return p
	}
	return TemplateDirs[0] + "/" + name
}
