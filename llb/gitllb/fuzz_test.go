package gitllb

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flant/dapp-frontend/internal/fuzzbound"
)

// FuzzGlobEscape checks the pattern a removal of a name that is not UTF-8
// uses: it matches the name itself (as BuildKit's wildcard removal calls
// filepath.Match) and not the name with a byte more or less, so the Rm
// takes that file and not its neighbours.
func FuzzGlobEscape(f *testing.F) {
	for _, s := range []string{"caf\xe9.txt", "a*b?[c]\\", "\xff\xfe", "plain", "ok\u00e9\xe9", "[", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || strings.ContainsAny(name, "/\x00") {
			return
		}
		fuzzbound.Check(t, time.Second, 16<<20, func() {
			pattern := globEscape(name)
			for cand, want := range map[string]bool{name: true, name + "x": false, "x" + name: false, name[1:]: false} {
				got, err := filepath.Match(pattern, cand)
				if err != nil {
					t.Fatalf("pattern %q of %q: %v", pattern, name, err)
				}
				if got != want {
					t.Fatalf("pattern %q of %q matches %q: %v", pattern, name, cand, got)
				}
			}
		})
	})
}
