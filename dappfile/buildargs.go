package dappfile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// unsetBuildArgs lists the build args the template read with env or
// expandenv that the build did not pass, sorted (read is sorted).
func unsetBuildArgs(read []string, given map[string]string) []string {
	var out []string
	for _, n := range read {
		if _, ok := given[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// hintUnsetBuildArgs adds to each error the build args its line reads but
// the build did not pass: `from: {{ env "BASE" }}` without --build-arg
// BASE renders `from:`, and "`from` must not be empty" alone does not say
// why. Only the original line of the error is searched, and the earlier
// lines that assign what it prints (see argsReadBy), so an unrelated unset
// arg elsewhere in the file never shows up in the message.
func hintUnsetBuildArgs(errs []error, original string, unset []string) {
	if len(unset) == 0 {
		return
	}
	lines := splitLines(original)
	assigned := assignments(lines)
	for _, err := range errs {
		var le *LocationError
		if !errors.As(err, &le) || len(le.Ranges) == 0 {
			continue
		}
		n := le.Ranges[0].Start.Line
		if n < 1 || n > len(lines) {
			continue
		}
		if names := argsReadBy(lines, assigned, n, unset); len(names) > 0 {
			le.Err = fmt.Errorf("%w (%s)", le.Err, unsetHint(names))
		}
	}
}

// maxHintHops bounds how many assignments argsReadBy follows back from the
// error's line.
const maxHintHops = 4

// templateRefRE finds, inside a line's actions, the template variables
// ($name) and top-level data keys (.Name) it uses.
var templateRefRE = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)|(?:^|[\s(])\.([A-Za-z_][A-Za-z0-9_]*)`)

// argsReadBy lists the unset args line n reads: directly, or through what
// an earlier action assigned to a variable it prints (`{{ $base := env
// "BASE" }}` … `from: {{ $base }}`) or to a key of the template data
// (`{{ $_ := set . "Base" (env "BASE") }}` … `from: {{ .Base }}`, dapp's
// idiom), followed back at most maxHintHops assignments. Only the assigning
// action counts, not the rest of its line.
func argsReadBy(lines []string, assigned map[templateRef][]assignment, n int, unset []string) []string {
	type site struct {
		line int
		text string
	}
	seen := map[assignment]bool{}
	frontier := []site{{n, lines[n-1]}}
	found := map[string]bool{}
	for hop := 0; hop <= maxHintHops && len(frontier) > 0; hop++ {
		var next []site
		for _, at := range frontier {
			for _, name := range unset {
				if readsBuildArg("{{"+strings.Join(actionsOf(at.text), "}}{{")+"}}", name) {
					found[name] = true
				}
			}
			// what an action assigns is not what it reads
			for _, ref := range templateRefs(assignRE.ReplaceAllString(at.text, " ")) {
				// the nearest assignment above is the one printed
				as := assigned[ref]
				k := sort.Search(len(as), func(i int) bool { return as[i].line >= at.line }) - 1
				if k >= 0 && !seen[as[k]] {
					seen[as[k]] = true
					next = append(next, site{as[k].line, "{{" + as[k].action + "}}"})
				}
			}
		}
		frontier = next
	}
	var names []string
	for _, name := range unset { // unset is sorted
		if found[name] {
			names = append(names, name)
		}
	}
	return names
}

// templateRef is a variable ("$name") or a data key (".Name") a line uses.
type templateRef string

func templateRefs(line string) []templateRef {
	var refs []templateRef
	for _, action := range actionsOf(line) {
		for _, m := range templateRefRE.FindAllStringSubmatch(action, -1) {
			if m[1] != "" {
				refs = append(refs, templateRef("$"+m[1]))
			} else {
				refs = append(refs, templateRef("."+m[2]))
			}
		}
	}
	return refs
}

// assignRE finds `$name :=` / `$name =` and `set . "Name"` in an action.
var assignRE = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=|\bset\s+\.\s+["` + "`" + `]([A-Za-z_][A-Za-z0-9_]*)["` + "`" + `]`)

// assignment is one action that assigns a variable or a data key.
type assignment struct {
	line   int // 1-based
	action string
}

// assignments maps each variable and data key to the actions that assign
// it, in file order.
func assignments(lines []string) map[templateRef][]assignment {
	out := map[templateRef][]assignment{}
	for i, line := range lines {
		for _, action := range actionsOf(line) {
			for _, m := range assignRE.FindAllStringSubmatch(action, -1) {
				ref := templateRef("$" + m[1])
				if m[1] == "" {
					ref = templateRef("." + m[2])
				}
				out[ref] = append(out[ref], assignment{i + 1, action})
			}
		}
	}
	return out
}

// actionsOf returns the text inside the {{ }} actions of one line; an
// action left open at the line's end runs to the end.
func actionsOf(line string) []string {
	var out []string
	for {
		i := strings.Index(line, "{{")
		if i < 0 {
			return out
		}
		line = line[i+2:]
		j := strings.Index(line, "}}")
		if j < 0 {
			return append(out, line)
		}
		out = append(out, line[:j])
		line = line[j+2:]
	}
}

// readsBuildArg reports whether a template line reads the build arg name:
// `env "NAME"` (any quoting) or `$NAME` / `${NAME}` in expandenv.
func readsBuildArg(line, name string) bool {
	q := regexp.QuoteMeta(name)
	re := regexp.MustCompile(`\benv\s+["` + "`" + `]` + q + `["` + "`" + `]|\$\{?` + q + `\b`)
	return strings.Contains(line, "{{") && re.MatchString(line)
}

func unsetHint(names []string) string {
	var pass, opts []string
	for _, n := range names {
		pass = append(pass, "--build-arg "+n+"=…")
		opts = append(opts, "--opt build-arg:"+n+"=…")
	}
	what := "build arg " + names[0] + " is"
	if len(names) > 1 {
		what = "build args " + strings.Join(names, ", ") + " are"
	}
	return fmt.Sprintf("%s not set, so env renders an empty string: pass it with %s (buildctl: %s)", what, strings.Join(pass, " "), strings.Join(opts, " "))
}
