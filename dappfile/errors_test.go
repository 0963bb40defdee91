package dappfile

import (
	"errors"
	"testing"

	pkgerrors "github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

func TestLocationErrorMessages(t *testing.T) {
	t.Parallel()
	at := []Range{pointRange(3, 5)}
	for _, tc := range []struct {
		name  string
		err   *LocationError
		model string // as Parse returns it
		named string // after WithFilename(err, "dappfile.yaml")
	}{
		{"range", &LocationError{Ranges: at, Err: errors.New("bad")}, "3:5: bad", "dappfile.yaml:3:5: bad"},
		{"no range", &LocationError{Err: errors.New("bad")}, "bad", "dappfile.yaml: bad"},
		{"other file", &LocationError{File: ".dappfiles/a.tmpl", Ranges: at, Err: errors.New("bad")}, ".dappfiles/a.tmpl:3:5: bad", ".dappfiles/a.tmpl:3:5: bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.EqualError(t, tc.err, tc.model)
			require.EqualError(t, WithFilename(tc.err, "dappfile.yaml"), tc.named)
		})
	}
}

// TestWithFilenameTree: every located error of a joined, wrapped tree is
// named, and the ranges of another file are not Dappfile locations.
func TestWithFilenameTree(t *testing.T) {
	t.Parallel()
	a := &LocationError{Ranges: []Range{pointRange(1, 1)}, Err: errors.New("a")}
	b := &LocationError{Ranges: []Range{pointRange(2, 1)}, Err: errors.New("b")}
	tmpl := &LocationError{File: ".dappfiles/t.tmpl", Ranges: []Range{pointRange(9, 1)}, Err: errors.New("t")}
	err := errors.Join(a, pkgerrors.Wrap(b, "image x"), tmpl)
	require.Equal(t, []Range{pointRange(1, 1), pointRange(2, 1)}, Locations(err))
	require.EqualError(t, WithFilename(err, "Dappfile"), "Dappfile:1:1: a\nimage x: Dappfile:2:1: b\n.dappfiles/t.tmpl:9:1: t")
	require.NoError(t, WithFilename(nil, "Dappfile"))
}

// TestTemplateErrorInIncludedFile: an error in a .dappfiles template names
// that file and gives no Dappfile lines (they would point at the wrong
// file in buildx's source view).
func TestTemplateErrorInIncludedFile(t *testing.T) {
	t.Parallel()
	_, _, err := Parse([]byte("dimg: a\nfrom: x\n"), ParseOpt{Templates: map[string][]byte{"a.tmpl": []byte("x\n{{ end }}")}})
	require.EqualError(t, WithFilename(err, "Dappfile"), ".dappfiles/a.tmpl:2:1: template: unexpected {{end}}")
	require.True(t, IsLocationError(err))
	require.Empty(t, Locations(err))
}
