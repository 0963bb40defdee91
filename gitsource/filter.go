package gitsource

import (
	"path"
	"strings"

	"github.com/pkg/errors"
)

// Filter selects the files of one git mapping. Paths given to it are
// relative to the mapping's add directory, slash-separated, without a
// leading slash.
//
// Patterns follow dapp: `*`, `?` and `[...]` match within one path element,
// `**` matches any number of elements, and a pattern that matches a
// directory also matches everything below it (`src` selects `src/a/b.go`).
type Filter struct {
	include []pattern
	exclude []pattern
}

type pattern struct {
	raw  string
	segs []string
}

// NewFilter compiles include and exclude patterns. An empty include list
// selects every file.
func NewFilter(include, exclude []string) (*Filter, error) {
	inc, err := compilePatterns(include)
	if err != nil {
		return nil, errors.Wrap(err, "includePaths")
	}
	exc, err := compilePatterns(exclude)
	if err != nil {
		return nil, errors.Wrap(err, "excludePaths")
	}
	return &Filter{include: inc, exclude: exc}, nil
}

func compilePatterns(list []string) ([]pattern, error) {
	out := make([]pattern, 0, len(list))
	for _, raw := range list {
		p, err := compilePattern(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func compilePattern(raw string) (pattern, error) {
	clean := strings.Trim(path.Clean("/"+raw), "/")
	if clean == "" {
		// "/" or "." selects the whole add directory.
		return pattern{raw: raw, segs: []string{"**"}}, nil
	}
	segs := strings.Split(clean, "/")
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return pattern{}, errors.Errorf("invalid pattern %q", raw)
		}
	}
	return pattern{raw: raw, segs: segs}, nil
}

// Match reports whether the file at rel belongs to the mapping.
func (f *Filter) Match(rel string) bool {
	segs := strings.Split(rel, "/")
	if len(f.include) > 0 && !matchAny(f.include, segs) {
		return false
	}
	return !matchAny(f.exclude, segs)
}

// MayContain reports whether files below the directory rel can match, so a
// tree walk can skip directories that are excluded as a whole.
func (f *Filter) MayContain(dir string) bool {
	segs := strings.Split(dir, "/")
	if matchAny(f.exclude, segs) {
		return false
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if matchDirPrefix(p.segs, segs) {
			return true
		}
	}
	return false
}

func matchAny(ps []pattern, segs []string) bool {
	for _, p := range ps {
		if p.match(segs) {
			return true
		}
	}
	return false
}

// match reports whether the pattern matches the path or one of its parent
// directories.
func (p pattern) match(segs []string) bool {
	for n := len(segs); n >= 1; n-- {
		if matchSegs(p.segs, segs[:n]) {
			return true
		}
	}
	return false
}

// matchSegs matches whole paths: every element consumed on both sides.
func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// matchDirPrefix reports whether some path below the directory segs could
// match pat: segs is consumed completely while pat may have elements left.
func matchDirPrefix(pat, segs []string) bool {
	if len(segs) == 0 {
		return true
	}
	if len(pat) == 0 {
		// the pattern matched a parent directory: its content matches
		return true
	}
	if pat[0] == "**" {
		return true
	}
	if ok, _ := path.Match(pat[0], segs[0]); !ok {
		return false
	}
	return matchDirPrefix(pat[1:], segs[1:])
}
