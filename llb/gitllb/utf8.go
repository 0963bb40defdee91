package gitllb

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/client/llb"
)

// Git allows any bytes but "/" and NUL in a file name (real repositories
// hold Latin-1 names), and a symlink's target is any bytes; the strings of
// a build definition must be UTF-8 (protobuf refuses the message with
// "string field contains invalid UTF-8"). The git-export helper writes
// files with their real byte names, so a step with such a path takes the
// exec-based path whatever its size, and only paths that are UTF-8 appear
// in the FileOp.

// NotUTF8Error says a step writes a path (or a symlink whose target) is
// not valid UTF-8 and the git-export helper that can write it is not
// available.
type NotUTF8Error struct {
	Step gitsource.PlanStep
	// Path is the file's path in the image.
	Path string
	// Target: the symlink's target is not UTF-8, its name is.
	Target bool
	// Reason says why the helper is not available.
	Reason error
}

func (e *NotUTF8Error) Error() string {
	what := "name"
	if e.Target {
		what = "symlink target"
	}
	msg := fmt.Sprintf("git path %q (%s) has a %s that is not valid UTF-8, which the build definition cannot carry: only the git-export helper can write it",
		e.Path, e.Step, what)
	if e.Reason != nil {
		msg += ": " + e.Reason.Error()
	}
	return msg
}

func (e *NotUTF8Error) Unwrap() error { return e.Reason }

// notUTF8 returns the error for the first action of steps that cannot be
// inlined because of its bytes, or nil when all can.
func notUTF8(steps []preparedStep) (*NotUTF8Error, error) {
	for _, ps := range steps {
		for _, a := range ps.acts {
			if !utf8.ValidString(a.Rel) {
				return &NotUTF8Error{Step: ps.step, Path: ps.e.dest(a.Rel)}, nil
			}
			if a.Kind != gitsource.ActSymlink {
				continue
			}
			target, err := a.Data()
			if err != nil {
				return nil, err
			}
			if !utf8.Valid(target) {
				return &NotUTF8Error{Step: ps.step, Path: ps.e.dest(a.Rel), Target: true}, nil
			}
		}
	}
	return nil, nil
}

// rmNotUTF8 removes a path that is not UTF-8 in the FileOp of the
// exec-based path: as a wildcard whose every invalid byte is the class
// [U+FFFD], which matches exactly one such byte (filepath.Match decodes it
// as U+FFFD), and whose other bytes are escaped. The pattern also matches
// a name holding a real U+FFFD at that place; a sibling named so would go
// too. ok is false when the path cannot be expressed: a directory above
// the first invalid name has a glob character in its name (BuildKit takes
// the components before the first wildcard literally, escapes included).
func rmNotUTF8(fa *llb.FileAction, p string) (_ *llb.FileAction, ok bool) {
	parts := strings.Split(p, "/")
	first := -1
	for i, c := range parts {
		if !utf8.ValidString(c) {
			first = i
			break
		}
	}
	for i, c := range parts {
		if i < first {
			if strings.ContainsAny(c, `*?[\`) {
				return fa, false
			}
			continue
		}
		parts[i] = globEscape(c)
	}
	pattern := path.Join(parts...)
	if strings.HasPrefix(p, "/") {
		pattern = "/" + pattern
	}
	opts := []llb.RmOption{llb.WithAllowNotFound(true), llb.WithAllowWildcard(true)}
	if fa == nil {
		return llb.Rm(pattern, opts...), true
	}
	return fa.Rm(pattern, opts...), true
}

// globEscape makes s a filepath.Match pattern matching s, with each byte
// that is not part of valid UTF-8 as the class [U+FFFD].
func globEscape(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString("[\uFFFD]")
		case strings.ContainsRune(`*?[]\`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}
