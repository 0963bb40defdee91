package dappfile

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Hostile inputs end fast, within bounded memory, with a located error.
// The bounds are generous for a loaded CI machine; the limits themselves
// keep the real cost far below them.
const (
	hostileMaxTime  = 2 * time.Second
	hostileMaxAlloc = 512 << 20
)

// parseBounded parses data and fails the test when it takes more than
// hostileMaxTime of CPU (wall time on a shared CI machine says little) or
// allocates more than hostileMaxAlloc in all. Callers must not run in
// parallel with other tests.
// Errors name the file "Dappfile", as the frontend names it where they
// leave.
func parseBounded(t testing.TB, data []byte, opt ParseOpt) (*Config, error) {
	t.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	cpu := cpuTime()
	start := time.Now()
	cfg, _, err := Parse(data, opt)
	elapsed, used := time.Since(start), cpuTime()-cpu
	runtime.ReadMemStats(&ms)
	if used > hostileMaxTime || elapsed > 10*hostileMaxTime {
		t.Errorf("parsing took %v of CPU, %v in all (limit %v of CPU)", used, elapsed, hostileMaxTime)
	}
	if alloc := ms.TotalAlloc - before; alloc > hostileMaxAlloc {
		t.Errorf("parsing allocated %d MiB (limit %d MiB)", alloc>>20, hostileMaxAlloc>>20)
	}
	return cfg, WithFilename(err, "Dappfile")
}

// cpuTime is the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type hostileCase struct{ name, input, err string }

// hostileTemplates follow `base`; the fuzz target starts from them too.
var hostileTemplates = []hostileCase{
	{"until", "{{ range until 100000000 }}{{ end }}", "Dappfile:3:10: template: executing \"Dappfile\" at <until 100000000>: error calling until: until: the list would have more than 100000 items"},
	{"nested loops", "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", "Dappfile:3:25: template: the template does more than 200000 steps of work"},
	{"range over int", "{{ range 100000000 }}{{ end }}", "Dappfile:3:1: template: the template does more than 200000 steps"},
	{"untilStep", "{{ untilStep 0 1000000000 1 }}", "untilStep: the list would have more than 100000 items"},
	{"seq", "{{ seq 1 1000000000 }}", "seq: the list would have more than 100000 items"},
	{"repeat", "{{ repeat 100000000 \"x\" }}", "Dappfile:3:4: template: executing \"Dappfile\" at <repeat 100000000 \"x\">: error calling repeat: repeat: repeat would be larger than 4 MiB"},
	{"repeat overflow", "{{ repeat 4611686018427387904 \"xxxx\" }}", "repeat would be larger than 4 MiB"},
	{"doubling", "{{ $s := \"xxxxxxxxxx\" }}{{ range until 30 }}{{ $s = cat $s $s }}{{ end }}", "error calling cat: cat: its arguments hold more than 4 MiB"},
	{"growing list", "{{ $l := list }}{{ range until 100000 }}{{ $l = append $l 1 }}{{ end }}", "error calling append: the template does more than 200000 steps of work"},
	{"printf width", "{{ printf \"%099999999d\" 1 }}", "printf: width or precision 99999999 is larger than 4 MiB"},
	{"printf star", "{{ printf \"%*d\" 99999999 1 }}", "printf: width or precision 99999999 is larger than 4 MiB"},
	{"indent", "{{ indent 100000000 \"x\" }}", "indent: indent would be larger than 4 MiB"},
	{"replace", "{{ replace \"\" (repeat 100000 \"x\") (repeat 100000 \"y\") }}", "replace: replace would be larger than 4 MiB"},
	{"regexReplaceAll", "{{ regexReplaceAll \"\" (repeat 100000 \"y\") (repeat 100000 \"x\") }}", "regexReplaceAll: the replacement would be larger than 4 MiB"},
	{"join", "{{ until 100000 | join (repeat 100000 \"x\") }}", "join: join would be larger than 4 MiB"},
	{"uniq", "{{ $l := until 100000 }}{{ uniq $l }}", "uniq: the list is too long for it"},
	{"output", "{{ $s := repeat 1000000 \"x\" }}{{ range until 10 }}{{ $s }}{{ end }}", "Dappfile:3:31: template: the rendered Dappfile is larger than 4 MiB"},
	{"recursive template", "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}", "Dappfile:3:1: template: more than 10000 template calls (a recursive template or include?)"},
	{"recursive include", "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}", "Dappfile:3:20: template: executing \"r\" at <include \"r\" .>: error calling include: include \"r\": nested more than 64 levels (recursive include?)"},
	{"include fan-out", "{{ define \"f\" }}{{ if lt (len .) 40 }}{{ include \"f\" (append . 1) }}{{ include \"f\" (append . 1) }}{{ end }}{{ end }}{{ include \"f\" list }}", "the template does more than 200000 steps of work"},
	{"template fan-out", "{{ define \"f\" }}{{ if lt (len .) 40 }}{{ template \"f\" (append . 1) }}{{ template \"f\" (append . 1) }}{{ end }}{{ end }}{{ template \"f\" list }}", "the template does more than 200000 steps of work"},
	{"dict cycle", "{{ $d := dict }}{{ $_ := set $d \"a\" $d }}{{ $d }}", "Dappfile:3:26: template: executing \"Dappfile\" at <set $d \"a\" $d>: error calling set: set: a list or dict contains itself"},
	{"root cycle", "{{ $_ := set . \"self\" . }}{{ . }}", "set: a list or dict contains itself"},
	{"now", "{{ now }}", "Dappfile:3:4: template: executing \"Dappfile\" at <now>: error calling now: function \"now\" is not available in a Dappfile: the current time changes on every build; the build must be deterministic, so pass such values with --build-arg and read them with env"},
	{"genPrivateKey", "{{ genPrivateKey \"rsa\" }}", "function \"genPrivateKey\" is not available in a Dappfile: generated keys change on every build"},
	{"genCA", "{{ genCA \"x\" 365 }}", "function \"genCA\" is not available"},
	{"randAlphaNum", "{{ randAlphaNum 10 }}", "function \"randAlphaNum\" is not available in a Dappfile: random values change on every build"},
	{"uuidv4", "{{ uuidv4 }}", "function \"uuidv4\" is not available"},
	{"derivePassword", "{{ derivePassword 1 \"long\" \"pw\" \"user\" \"example.com\" }}", "function \"derivePassword\" is not available in a Dappfile: each call costs a 32 MiB scrypt run"},
	{"getHostByName", "{{ getHostByName \"example.com\" }}", "must not depend on DNS"},
	{"unclosed action", "from2: {{ env \"X\"\nshell:\n  install: [a]\n", "Dappfile:3:8: template: this `{{` has no matching `}}` (text/template read on and reports: function \"shell\" not defined)"},
}

func TestHostileTemplates(t *testing.T) {
	// not parallel: each case measures its own allocations
	for _, tc := range hostileTemplates {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBounded(t, []byte(base+tc.input), ParseOpt{})
			require.ErrorContains(t, err, tc.err)
			require.True(t, strings.HasPrefix(err.Error(), "Dappfile:3:"), "located at the line: %v", err)
		})
	}
}

func TestHostileSizes(t *testing.T) {
	big := base + "# " + strings.Repeat("x", MaxDappfileSize) + "\n"
	_, err := parseBounded(t, []byte(big), ParseOpt{})
	require.EqualError(t, err, "Dappfile: the Dappfile is 1.0 MiB, more than the limit of 1 MiB")
	_, err = parseBounded(t, []byte(base), ParseOpt{Templates: map[string][]byte{"a.tmpl": make([]byte, MaxTemplatesSize+1)}})
	require.EqualError(t, err, "Dappfile: the .dappfiles templates add up to 4.0 MiB, more than the limit of 4 MiB")
}

// hostileYAML follow `base`; the fuzz target starts from them too.
func hostileYAML() []hostileCase {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for c := 'b'; c <= 'j'; c++ {
		laughs += fmt.Sprintf("%c: &%c [%s]\n", c, c, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*%c, ", c-1), 10), ", "))
	}
	merges := "x0: &x0 {a: 1, b: 2}\n"
	for i := 1; i < 30; i++ {
		merges += fmt.Sprintf("x%d: &x%d {<<: [*x%d, *x%d], k%d: 1}\n", i, i, i-1, i-1, i)
	}
	return []hostileCase{
		{"billion laughs", "x-laughs:\n" + indentLines(laughs), "Dappfile:9:10: the document has more than 200000 YAML nodes with its aliases expanded"},
		{"nested merge keys", "x-merges:\n" + indentLines(merges) + "shell: *x29\n", "the document has more than 200000 YAML nodes with its aliases expanded"},
		{"many nodes", "shell:\n  install: [" + strings.Repeat("a,", MaxYAMLNodes) + "]\n", "Dappfile:4:399993: the document has more than 200000 YAML nodes: split it, or generate less"},
		{"deep nesting", "shell: " + strings.Repeat("[", 20000) + "\n", "Dappfile:3:1: invalid YAML: exceeded max depth of 10000"},
		{"documents", strings.Repeat("---\n", MaxDocuments+1), "Dappfile:10002:1: more than 10000 YAML documents"},
		{"images", "---\ndimg: [" + strings.Repeat("a,", MaxImages) + "b]\nfrom: x\n", "more than 10000 images and artifacts"},
		{"NUL", "shell:\n  install: [a\x00]\n", "Dappfile:4:14: character U+0000 is not allowed in YAML"},
		{"invalid UTF-8", "shell:\n  install: [é\xff]\n", "Dappfile:4:14: invalid UTF-8 (byte 0xff): the file must be UTF-8"},
		{"binary tag", "fromCacheVersion: !!binary aGVsbG8=\n", "Dappfile:3:19: YAML tag \"!!binary\" is not supported"},
		{"custom tag", "fromCacheVersion: !v 1\n", "Dappfile:3:19: YAML tag \"!v\" is not supported"},
		{"syntax line", "shell:\n  install:\n    - a\n  - b\n", "Dappfile:6:1: invalid YAML: did not find expected key"},
		{"unknown anchor", "shell:\n  setup: *b\n", "Dappfile:4:10: invalid YAML: unknown anchor 'b' referenced"},
	}
}

func TestHostileYAML(t *testing.T) {
	for _, tc := range hostileYAML() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBounded(t, []byte(base+tc.input), ParseOpt{})
			require.ErrorContains(t, err, tc.err)
			require.NotEmpty(t, Locations(err))
		})
	}
}

func indentLines(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
