package dappfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse reads a Dappfile with one .dappfiles template ("t.tmpl"),
// one build-context file ("f", for .Files.Get) and one build arg ("A",
// for env). No input may panic, hang or blow up: each must end with a
// model or a located error, within hostileMaxTime of CPU and
// hostileMaxAlloc of allocations.
//
// Seeds: the golden cases, examples/, ../shared/corpus when it is there,
// and the hostile inputs of hostile_test.go.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*/dappfile.yaml", "../examples/*/Dappfile", "../../shared/corpus/*/Dappfile", "../../shared/corpus/*.y*ml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			tmpl, file := fuzzSeedContext(filepath.Dir(file))
			f.Add(data, tmpl, file, "value")
		}
	}
	for _, tc := range append(hostileTemplates, hostileYAML()...) {
		f.Add([]byte(base+tc.input), []byte(nil), []byte(nil), "")
	}
	f.Add([]byte(base+"shell:\n  install:\n  {{- include \"t.tmpl\" . | nindent 2 }}\n"), []byte("{{ range until 3 }}- step {{ . }}\n{{ end }}"), []byte(nil), "")
	f.Add([]byte(base+"fromCacheVersion: {{ .Files.Get \"f\" | trim }}-{{ env \"A\" }}\n"), []byte(nil), []byte("1.2\n"), "x")
	f.Add([]byte("dimg: a\nfrom: x\nshell: {install: *a}\n"), []byte(nil), []byte(nil), "")
	f.Add([]byte("a: &a\n  <<: *a\n"), []byte(nil), []byte(nil), "")
	f.Fuzz(func(t *testing.T, data, tmpl, file []byte, arg string) {
		opt := ParseOpt{
			BuildArgs: map[string]string{"A": arg},
			Templates: map[string][]byte{"t.tmpl": tmpl},
			ReadFile: func(path string) ([]byte, error) {
				if path == "f" {
					return file, nil
				}
				return nil, fs.ErrNotExist
			},
		}
		cfg, err := parseBounded(t, data, opt)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !allLocated(err) {
			t.Fatalf("error without location: %v", err)
		}
	})
}

// fuzzSeedContext picks a seed's first .dappfiles template and a VERSION
// file beside it, when it has them.
func fuzzSeedContext(dir string) (tmpl, file []byte) {
	tmpls, _ := filepath.Glob(filepath.Join(dir, ".dappfiles", "*", "*.tmpl"))
	if len(tmpls) > 0 {
		tmpl, _ = os.ReadFile(tmpls[0])
	}
	file, _ = os.ReadFile(filepath.Join(dir, "VERSION"))
	return tmpl, file
}

// allLocated reports whether every error joined in err is a
// LocationError (with a range unless it is about the whole file; the file
// is named where errors leave).
func allLocated(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !allLocated(e) {
				return false
			}
		}
		return true
	}
	var le *LocationError
	return errors.As(err, &le) && !strings.Contains(le.File, "\n")
}
