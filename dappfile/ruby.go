package dappfile

import (
	"errors"
	"regexp"
)

// RubyDSLError says the file is a Dappfile in dapp's Ruby DSL (dapp before
// 0.27), which only dapp's Ruby interpreter could read. Callers and tests
// recognise it with errors.As; its LocationError points at the first
// block that gave it away.
type RubyDSLError struct{}

func (RubyDSLError) Error() string {
	return "this Dappfile is written in dapp's Ruby DSL (`dimg 'name' do … end`, dapp before 0.27), " +
		"which dapp-frontend does not read: only the YAML Dappfile format (dapp 0.27 and later, werf's stapel) is supported; " +
		"rewrite it as YAML documents, one per dimg/artifact (`docker.from 'x'` → `from: x`, " +
		"`shell do install do run 'cmd'` → `shell: {install: [cmd]}`, `git do add '/src' do to '/app'` → `git: [{add: /src, to: /app}]`, " +
		"an artifact's `export` → `import:` in the image that uses it); the README's section \"Converting a Ruby DSL Dappfile\" has a side-by-side example"
}

// rubyBlockRE matches the lines that open a dimg, artifact or dimg_group
// block in the Ruby DSL: `dimg_group do`, `dimg 'app' do`, `artifact do`.
// No YAML key looks like that: a YAML `dimg:` has a colon after the name.
var rubyBlockRE = regexp.MustCompile(`(?m)^[ \t]*(dimg_group|dimg|artifact)\b[^:\n#]*\bdo[ \t]*(\|[^|\n]*\|)?[ \t]*(#.*)?\r?$`)

// checkRubyDSL fails with a *RubyDSLError at the first Ruby block line.
// It runs before template rendering: Ruby code is no Go template, and
// rendering it first would report a template error instead.
func checkRubyDSL(data []byte) error {
	loc := rubyBlockRE.FindIndex(data)
	if loc == nil {
		return nil
	}
	line, col := 1, 1
	for _, b := range data[:loc[0]] {
		if b == '\n' {
			line++
		}
	}
	for i := loc[0]; i < len(data) && (data[i] == ' ' || data[i] == '\t'); i++ {
		col++
	}
	return &LocationError{Ranges: []Range{pointRange(line, col)}, Err: RubyDSLError{}}
}

// LooksLikeRubyDSL reports whether data is a Ruby DSL Dappfile. The
// default file lookup uses it to pass over a Ruby `Dappfile` kept beside a
// YAML one, as dapp 0.27 and later did (they read only the YAML file).
func LooksLikeRubyDSL(data []byte) bool { return rubyBlockRE.Match(data) }

// IsRubyDSL reports whether err says the file is a Ruby DSL Dappfile.
func IsRubyDSL(err error) bool {
	var re RubyDSLError
	return errors.As(err, &re)
}
