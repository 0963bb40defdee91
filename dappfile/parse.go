package dappfile

import (
	"errors"
	"sort"
)

// Parse reads a Dappfile: it renders the template, splits the documents,
// decodes them strictly and validates the result. Every problem found is
// returned at once, joined with errors.Join; each is a *LocationError
// pointing at the original file, before template rendering, without a
// file name (see WithFilename). Warnings do not
// stop the build and are returned even when err is not nil.
func Parse(data []byte, opt ParseOpt) (*Config, []Warning, error) {
	if err := checkRubyDSL(data); err != nil {
		return nil, nil, err
	}
	rendered, warns, args, err := renderTemplate(data, opt)
	if err != nil {
		return nil, warns, err
	}
	p := &parser{
		lines:      newLineMap(string(data), rendered),
		warns:      warns,
		importLocs: map[*Import]Range{},
		werf:       opt.Werf,
	}
	cfg := &Config{BuildArgs: args}
	docs := p.splitDocuments(rendered)
	if err := p.checkCounts(docs, nil); err != nil {
		return nil, warns, err
	}
	for _, doc := range docs {
		if !doc.broken {
			cfg.Images = append(cfg.Images, p.decodeDocument(doc)...)
		}
	}
	if err := p.checkCounts(nil, cfg.Images); err != nil {
		return nil, warns, err
	}
	p.applyMeta(cfg)
	p.validate(cfg, len(p.errs) == 0)
	warns = uniqueWarnings(p.warns)
	if len(p.errs) > 0 {
		hintUnsetBuildArgs(p.errs, string(data), unsetBuildArgs(args, opt.BuildArgs))
		return nil, warns, joinSorted(p.errs)
	}
	return cfg, warns, nil
}

// joinSorted joins errors in file order, so users read them top to bottom.
func joinSorted(errs []error) error {
	sort.SliceStable(errs, func(i, j int) bool {
		return before(firstPos(errs[i]), firstPos(errs[j]))
	})
	seen := map[string]bool{} // copies of a `dimg: [a, b]` document repeat errors
	var out []error
	for _, err := range errs {
		if !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

func firstPos(err error) Position {
	if locs := Locations(err); len(locs) > 0 {
		return locs[0].Start
	}
	return Position{}
}

func before(a, b Position) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Column < b.Column
}

// uniqueWarnings drops repeated warnings: a template loop or a
// `dimg: [a, b]` document can produce the same one several times.
func uniqueWarnings(warns []Warning) []Warning {
	seen := map[Warning]bool{}
	var out []Warning
	for _, w := range warns {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
