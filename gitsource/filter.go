package gitsource

import (
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
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
	raw string
	// glob is the cleaned pattern in doublestar's syntax.
	glob string
	// segs are glob's elements, for MayContain.
	segs []string
}

// Bounds of one pattern: matching costs grow with the number of `**`
// elements times the path's length, and patterns come from anyone who can
// change the Dappfile.
const (
	maxPatternLen  = 1024
	maxDoubleStars = 16
)

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

// compilePattern checks a pattern and brings it to doublestar's syntax:
// github.com/bmatcuk/doublestar matches without the exponential
// backtracking of a recursive `**` matcher. Braces stay literal, as they
// were for dapp's path.Match-based patterns.
func compilePattern(raw string) (pattern, error) {
	if len(raw) > maxPatternLen {
		return pattern{}, errors.Errorf("pattern %.40q... is %d bytes long; at most %d are allowed", raw, len(raw), maxPatternLen)
	}
	var segs []string
	stars := 0
	for _, s := range strings.Split(strings.Trim(path.Clean("/"+raw), "/"), "/") {
		if s == "**" {
			// `**/**` means what `**` means
			if len(segs) > 0 && segs[len(segs)-1] == "**" {
				continue
			}
			stars++
		}
		if s != "" {
			seg, err := elementClasses(s)
			if err != nil {
				return pattern{}, errors.Wrapf(err, "invalid pattern %q", raw)
			}
			segs = append(segs, escapeBraces(seg))
		}
	}
	if stars > maxDoubleStars {
		return pattern{}, errors.Errorf("pattern %.40q has %d `**` elements; at most %d are allowed", raw, stars, maxDoubleStars)
	}
	if len(segs) == 0 {
		// "/" or "." selects the whole add directory.
		segs = []string{"**"}
	}
	glob := strings.Join(segs, "/")
	if !doublestar.ValidatePattern(glob) {
		return pattern{}, errors.Errorf("invalid pattern %q", raw)
	}
	return pattern{raw: raw, glob: glob, segs: segs}, nil
}

// elementClasses keeps `[...]` and `\` inside one path element, as dapp's
// patterns have them: doublestar lets a negated class such as `[!x]`
// match `/`, which would make Match select a file below a directory the
// tree walk (MayContain, element by element) prunes. A negated class gets
// `/` added to what it refuses; a class or escape cut by a `/` is refused.
func elementClasses(seg string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		switch seg[i] {
		case '\\':
			if i+1 == len(seg) {
				return "", errors.Errorf("element %q ends in `\\`: an escape cannot hold `/`", seg)
			}
			b.WriteString(seg[i : i+2])
			i++
		case '[':
			end := classEnd(seg, i)
			if end < 0 {
				return "", errors.Errorf("element %q has a `[` with no `]` in the same path element: a class matches one character other than `/`", seg)
			}
			class := seg[i:end]
			if len(class) > 1 && (class[1] == '!' || class[1] == '^') {
				class += "/"
			}
			b.WriteString(class)
			b.WriteByte(']')
			i = end
		default:
			b.WriteByte(seg[i])
		}
	}
	return b.String(), nil
}

// CopyPattern rewrites a dapp pattern (relative, cleaned) into BuildKit's
// copy and context-transfer pattern syntax (moby/patternmatcher), so dev
// mode and remote mappings select what Filter selects from a commit. Two
// things differ there: a leading `!` makes a pattern an exclusion, and a
// class is a regexp class, negated by `^` (not `!`) and able to match `/`.
func CopyPattern(p string) string {
	var b strings.Builder
	if strings.HasPrefix(p, "!") {
		b.WriteByte('\\')
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			b.WriteString(p[i:min(i+2, len(p))])
			i++
		case '[':
			end := classEnd(p, i)
			if end < 0 {
				b.WriteString(p[i:])
				return b.String()
			}
			class := p[i+1 : end]
			if strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^") {
				class = "^" + class[1:] + "/"
			}
			b.WriteString("[" + class + "]")
			i = end
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// classEnd returns the index of the `]` that closes the class opening at
// seg[open], or -1. A `]` right after `[`, `[!` or `[^` is a member.
func classEnd(seg string, open int) int {
	i := open + 1
	if i < len(seg) && (seg[i] == '!' || seg[i] == '^') {
		i++
	}
	if i < len(seg) && seg[i] == ']' {
		i++
	}
	for ; i < len(seg); i++ {
		switch seg[i] {
		case '\\':
			i++
		case ']':
			return i
		}
	}
	return -1
}

// escapeBraces quotes `{` and `}`, which doublestar reads as alternatives.
func escapeBraces(s string) string {
	return strings.NewReplacer("{", `\{`, "}", `\}`).Replace(s)
}

// Match reports whether the file at rel belongs to the mapping.
func (f *Filter) Match(rel string) bool {
	if len(f.include) > 0 && !matchAny(f.include, rel) {
		return false
	}
	return !matchAny(f.exclude, rel)
}

// MayContain reports whether files below the directory rel can match, so a
// tree walk can skip directories that are excluded as a whole.
func (f *Filter) MayContain(dir string) bool {
	segs := strings.Split(dir, "/")
	if matchAny(f.exclude, dir) {
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

func matchAny(ps []pattern, rel string) bool {
	for _, p := range ps {
		if p.match(rel) {
			return true
		}
	}
	return false
}

// match reports whether the pattern matches the path or one of its parent
// directories: doublestar's trailing `/**` matches both.
func (p pattern) match(rel string) bool {
	return doublestar.MatchUnvalidated(p.glob+"/**", rel)
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
	if !doublestar.MatchUnvalidated(pat[0], segs[0]) {
		return false
	}
	return matchDirPrefix(pat[1:], segs[1:])
}
