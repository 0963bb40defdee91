package dappfile

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLineMap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name               string
		original, rendered []string
		// want[i] is the original line of rendered line i+1; 0 is not
		// checked.
		want []int
	}{
		{
			name:     "same line count is identity",
			original: []string{"a: {{ .x }}", "b: 1"},
			rendered: []string{"a: 2", "b: 1"},
			want:     []int{1, 2},
		},
		{
			name:     "multi-line include",
			original: []string{"shell:", "  install:", `  {{ include "x" . }}`, "  setup: [a]", "bad: 1"},
			rendered: []string{"shell:", "  install:", "  - one", "  - two", "  - three", "  setup: [a]", "bad: 1"},
			want:     []int{1, 2, 3, 3, 3, 4, 5},
		},
		{
			name:     "literal line before an include keeps one line",
			original: []string{"x:", "- {{ .a }}", `{{ include "x" . }}`, "y: 1"},
			rendered: []string{"x:", "- foo", "- apt-get update", "- apt-get install", "y: 1"},
			want:     []int{1, 2, 3, 3, 4},
		},
		{
			name:     "removed if block",
			original: []string{"a: 1", "{{ if false }}", "b: 2", "c: 3", "{{ end }}", "d: 4"},
			rendered: []string{"a: 1", "", "d: 4"},
			want:     []int{1, 2, 6},
		},
		{
			name:     "trimmed actions remove lines",
			original: []string{"a: 1", "{{- if true }}", "b: {{ .x }}", "{{- end }}", "c: 3"},
			rendered: []string{"a: 1", "b: 2", "c: 3"},
			want:     []int{1, 3, 5},
		},
		{
			name:     "range repeats body lines",
			original: []string{"a: 1", "{{- range $i := until 3 }}", "git:", "- to: /app{{ $i }}", "{{- end }}", "z: 1"},
			rendered: []string{"a: 1", "git:", "- to: /app0", "git:", "- to: /app1", "git:", "- to: /app2", "z: 1"},
			want:     []int{1, 3, 4, 3, 4, 3, 4, 6},
		},
		{
			name:     "multi-line action",
			original: []string{"a: 1", "{{- /* a", "comment */ -}}", "b: {{ .x }}", "c: 3", "d: 4"},
			rendered: []string{"a: 1", "b: 2", "c: 3", "d: 4"},
			want:     []int{1, 4, 5, 6},
		},
		{
			name:     "range over documents",
			original: []string{`{{ range $n := list "a" "b" "c" }}`, "---", "dimg: {{ $n }}", "from: alpine", "{{ end }}"},
			rendered: []string{"", "---", "dimg: a", "from: alpine", "", "---", "dimg: b", "from: alpine", "", "---", "dimg: c", "from: alpine", ""},
			want:     []int{0, 2, 3, 4, 0, 2, 3, 4, 0, 2, 3, 4, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newLineMap(strings.Join(tc.original, "\n")+"\n", strings.Join(tc.rendered, "\n")+"\n")
			var got []int
			for i := range tc.rendered {
				if tc.want[i] == 0 { // a blank line: any nearby line will do
					got = append(got, 0)
					continue
				}
				got = append(got, m.line(i+1))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestLineMapBounds(t *testing.T) {
	t.Parallel()
	m := newLineMap("a\nb\n", "a\nx\ny\nb\n")
	require.Equal(t, 1, m.line(0))
	require.Equal(t, 2, m.line(99))
	require.True(t, m.exact(1))
	require.False(t, m.exact(2))
	require.True(t, m.exact(4))
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0, editDistance("abc", "abc"))
	require.Equal(t, 1, editDistance("form", "from"))
	require.Equal(t, 1, editDistance("instal", "install"))
	require.Equal(t, 3, editDistance("", "abc"))
	require.Equal(t, "ENV", suggest("env", []string{"ENV", "CMD"}))
	require.Equal(t, "", suggest("to", []string{"as"}))
	require.Equal(t, "", suggest("x", nil))
}
