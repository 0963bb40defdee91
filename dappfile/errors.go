package dappfile

import (
	"errors"
	"fmt"
)

// LocationError is a problem at one or more places of the Dappfile. Its
// Ranges carry no file name: below the frontend everything is about the
// one Dappfile being read, and the program that read it names the file
// once where errors leave (WithFilename). The frontend also turns Ranges
// into a source-mapped BuildKit error.
type LocationError struct {
	// File is set only when the ranges are in another file of the build
	// context than the Dappfile (a `.dappfiles` template).
	File   string
	Ranges []Range
	Err    error

	// filename is the Dappfile's name, set by WithFilename.
	filename string
}

// Error reads "file:line:column: message", without the parts not known.
func (e *LocationError) Error() string {
	file := e.File
	if file == "" {
		file = e.filename
	}
	pos := ""
	if len(e.Ranges) > 0 {
		p := e.Ranges[0].Start
		pos = fmt.Sprintf("%d:%d", p.Line, p.Column)
	}
	switch {
	case file != "" && pos != "":
		return fmt.Sprintf("%s:%s: %v", file, pos, e.Err)
	case file != "":
		return fmt.Sprintf("%s: %v", file, e.Err)
	case pos != "":
		return fmt.Sprintf("%s: %v", pos, e.Err)
	}
	return e.Err.Error()
}

func (e *LocationError) Unwrap() error { return e.Err }

// WithFilename names the Dappfile in every LocationError of err (a tree
// built with errors.Join and wrapping), so messages read
// "Dappfile:3:1: ...". The frontend and the `llb` command call it once,
// where errors leave. It changes the errors in place: they are fresh
// values of one read, and wrappers of other packages cannot be rebuilt.
// So wrap located errors with errors.Join or github.com/pkg/errors, which
// format when asked; fmt.Errorf formats at once and would keep the
// message without the name.
func WithFilename(err error, filename string) error {
	walkLocationErrors(err, func(le *LocationError) { le.filename = filename })
	return err
}

// Locations gathers the Dappfile ranges of every LocationError inside
// err, which may be a tree built with errors.Join. Ranges in another file
// (File set) are left out: they are not lines of the Dappfile.
func Locations(err error) []Range {
	var out []Range
	walkLocationErrors(err, func(le *LocationError) {
		if le.File == "" {
			out = append(out, le.Ranges...)
		}
	})
	return out
}

func walkLocationErrors(err error, fn func(*LocationError)) {
	if err == nil {
		return
	}
	if le, ok := err.(*LocationError); ok {
		fn(le)
		return
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkLocationErrors(e, fn)
		}
	case interface{ Unwrap() error }:
		walkLocationErrors(u.Unwrap(), fn)
	}
}

// IsLocationError reports whether err carries at least one Dappfile location.
func IsLocationError(err error) bool {
	var le *LocationError
	return errors.As(err, &le)
}
