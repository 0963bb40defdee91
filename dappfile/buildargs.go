package dappfile

import (
	"errors"
	"fmt"
	"regexp"
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
// why. Only the original line of the error is searched, so an unrelated
// unset arg elsewhere in the file never shows up in the message.
func hintUnsetBuildArgs(errs []error, original string, unset []string) {
	if len(unset) == 0 {
		return
	}
	lines := splitLines(original)
	for _, err := range errs {
		var le *LocationError
		if !errors.As(err, &le) || len(le.Ranges) == 0 {
			continue
		}
		n := le.Ranges[0].Start.Line
		if n < 1 || n > len(lines) {
			continue
		}
		var names []string
		for _, name := range unset {
			if readsBuildArg(lines[n-1], name) {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			le.Err = fmt.Errorf("%w (%s)", le.Err, unsetHint(names))
		}
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
