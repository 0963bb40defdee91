package dappfile

import (
	"errors"
	"fmt"
)

// LocationError is a problem at one or more places of the Dappfile. Its
// message starts with "file:line:column:" so it reads well on its own; the
// frontend also turns Ranges into a source-mapped BuildKit error.
type LocationError struct {
	Filename string
	Ranges   []Range
	Err      error
}

func (e *LocationError) Error() string {
	if len(e.Ranges) == 0 {
		return fmt.Sprintf("%s: %v", e.Filename, e.Err)
	}
	p := e.Ranges[0].Start
	return fmt.Sprintf("%s:%d:%d: %v", e.Filename, p.Line, p.Column, e.Err)
}

func (e *LocationError) Unwrap() error { return e.Err }

// Locations gathers the ranges of every LocationError inside err, which may
// be a tree built with errors.Join.
func Locations(err error) []Range {
	var out []Range
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if le, ok := err.(*LocationError); ok {
			out = append(out, le.Ranges...)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// IsLocationError reports whether err carries at least one Dappfile location.
func IsLocationError(err error) bool {
	var le *LocationError
	return errors.As(err, &le)
}
