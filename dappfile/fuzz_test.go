package dappfile

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every error
// carries a location. Seeds: the golden cases.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*/dappfile.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("dimg: a\nfrom: x\nshell: {install: *a}\n"))
	f.Add([]byte("a: &a\n  <<: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := Parse(data, ParseOpt{})
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !IsLocationError(err) {
			t.Fatalf("error without location: %v", err)
		}
	})
}
