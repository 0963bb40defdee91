package dappfile

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	tparse "text/template/parse"
	"unicode/utf8"
)

// text/template cannot be cancelled, so the renderer bounds its work from
// the inside: every loop body and every template body starts with a call
// of stepFunc (inserted into the parse trees), every function is wrapped
// to check what it is given and what it returns, and the output goes
// through a writer that stops at MaxRenderedSize. A function that hits a
// bound fails, which stops the execution at once.

// stepFunc is the name of the inserted step counter; no user template can
// mean it.
const stepFunc = "__dapp_step"

// budget is what one rendering may still spend.
type budget struct {
	r     *renderer
	steps int64
	alloc int64
	calls int
	sites []stepSite
	// last is the step site that ran last: where output and step limits
	// are reported.
	last int
	// err is the first limit hit, with its location.
	err error
}

// stepSite is a loop or template body with its location.
type stepSite struct {
	weight int64
	what   string // "range" or "template"
	loc    *LocationError
}

func (b *budget) fail(loc *LocationError, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if b.err == nil {
		if loc == nil {
			loc = &LocationError{}
		}
		b.err = &LocationError{File: loc.File, Ranges: loc.Ranges, Err: err}
	}
	return err
}

// step runs at the start of every loop iteration and template body.
func (b *budget) step(i int) (string, error) {
	site := b.sites[i]
	b.last = i
	b.steps += site.weight
	if site.what == "template" {
		b.calls++
		if b.calls > MaxTemplateCalls {
			return "", b.fail(site.loc, "template: more than %d template calls (a recursive template or include?)", MaxTemplateCalls)
		}
	}
	if b.steps > MaxTemplateSteps {
		return "", b.fail(site.loc, "template: the template does more than %d steps of work (loop iterations and calls, weighted by their size); this %s ran last", MaxTemplateSteps, site.what)
	}
	return "", nil
}

// lastLoc is the location of the step site that ran last.
func (b *budget) lastLoc() *LocationError {
	if len(b.sites) == 0 {
		return nil
	}
	return b.sites[b.last].loc
}

// instrument inserts a step call at the start of every template body and
// every range body of t's template set.
func (b *budget) instrument(t *template.Template, funcs template.FuncMap) error {
	var lists []*tparse.ListNode
	seen := map[*tparse.ListNode]bool{}
	add := func(l *tparse.ListNode, site stepSite) {
		if l != nil && !seen[l] {
			seen[l] = true
			site.weight = int64(countNodes(l)) + 2
			lists = append(lists, l)
			b.sites = append(b.sites, site)
		}
	}
	for _, tmpl := range t.Templates() {
		tree := tmpl.Tree
		if tree == nil || tree.Root == nil {
			continue
		}
		add(tree.Root, stepSite{what: "template", loc: b.r.nodeLoc(tree, tree.Root)})
		walkNodes(tree.Root, func(n tparse.Node) {
			if rn, ok := n.(*tparse.RangeNode); ok {
				add(rn.List, stepSite{what: "range", loc: b.r.nodeLoc(tree, rn)})
			}
		})
	}
	if len(lists) == 0 {
		return nil
	}
	// The step actions are parsed from text, so that they are complete
	// nodes of a tree of their own (text/template reads the tree of a
	// node when it reports an error).
	var src strings.Builder
	for i := range lists {
		fmt.Fprintf(&src, "{{%s %d}}", stepFunc, i)
	}
	steps, err := template.New("dapp-steps").Funcs(funcs).Parse(src.String())
	if err != nil {
		return err
	}
	for i, l := range lists {
		l.Nodes = append([]tparse.Node{steps.Tree.Root.Nodes[i]}, l.Nodes...)
	}
	return nil
}

// nodeLoc locates a node of a parsed template in its file: at the `{{`
// that opens it (text/template positions a range at its pipeline and a
// template body at its first node).
func (r *renderer) nodeLoc(tree *tparse.Tree, n tparse.Node) *LocationError {
	loc, _ := tree.ErrorContext(n)
	name, line, col := tree.ParseName, 0, 0
	if i := strings.LastIndex(loc, ":"); i > 0 {
		col, _ = strconv.Atoi(loc[i+1:]) // 0-based
		if j := strings.LastIndex(loc[:i], ":"); j > 0 {
			line, _ = strconv.Atoi(loc[j+1 : i])
		}
	}
	file, text := "", r.original
	if name != r.rootTemplate() {
		file, text = r.templatePath(name), string(r.opt.Templates[name])
	}
	if line == 0 {
		return &LocationError{File: file}
	}
	if lines := splitLines(text); line <= len(lines) {
		l := lines[line-1]
		if i := strings.LastIndex(l[:min(col+1, len(l))], "{{"); i >= 0 {
			col = i
		}
	}
	return &LocationError{File: file, Ranges: []Range{pointRange(line, col+1)}}
}

func walkNodes(n tparse.Node, f func(tparse.Node)) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return
	}
	f(n)
	switch n := n.(type) {
	case *tparse.ListNode:
		for _, c := range n.Nodes {
			walkNodes(c, f)
		}
	case *tparse.IfNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *tparse.RangeNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *tparse.WithNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	}
}

func countNodes(l *tparse.ListNode) int {
	count := 0
	walkNodes(l, func(tparse.Node) { count++ })
	return count
}

// refusedFuncs are Sprig functions whose result changes from run to run
// (the LLB must be a function of the sources) or that cost too much per
// call. They fail with the reason instead of "not defined".
var refusedFuncs = map[string]string{
	"now":                      "the current time changes on every build",
	"ago":                      "the time since a date changes on every build",
	"randAlphaNum":             "random values change on every build",
	"randAlpha":                "random values change on every build",
	"randAscii":                "random values change on every build",
	"randNumeric":              "random values change on every build",
	"randBytes":                "random values change on every build",
	"randInt":                  "random values change on every build",
	"shuffle":                  "random values change on every build",
	"uuidv4":                   "random values change on every build",
	"bcrypt":                   "its random salt changes on every build",
	"htpasswd":                 "its random salt changes on every build",
	"encryptAES":               "its random IV changes on every build",
	"genPrivateKey":            "generated keys change on every build (and would end up in the image)",
	"genCA":                    "generated keys change on every build (and would end up in the image)",
	"genCAWithKey":             "generated certificates change on every build",
	"genSelfSignedCert":        "generated keys change on every build (and would end up in the image)",
	"genSelfSignedCertWithKey": "generated certificates change on every build",
	"genSignedCert":            "generated keys change on every build (and would end up in the image)",
	"genSignedCertWithKey":     "generated certificates change on every build",
	"derivePassword":           "each call costs a 32 MiB scrypt run, and secrets do not belong in a Dappfile",
	"getHostByName":            "a build definition must not depend on DNS",
}

// refuse is the stand-in of a refused function.
func refuse(name, why string) any {
	return func(...any) (string, error) {
		return "", fmt.Errorf("function %q is not available in a Dappfile: %s; the build must be deterministic, so pass such values with --build-arg and read them with env", name, why)
	}
}

// limitedWriter stops the rendering at a size.
type limitedWriter struct {
	b     *budget
	w     *strings.Builder
	limit int
	what  string
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.w.Len()+len(p) > w.limit {
		return 0, w.b.fail(w.b.lastLoc(), "template: %s is larger than %s", w.what, sizeString(int64(w.limit)))
	}
	return w.w.Write(p)
}

// wrap checks a function's arguments and result against the limits. A
// failing check panics with the error; text/template turns the panic of
// a called function into an execution error at the call.
func (b *budget) wrap(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	pre := preChecks[name]
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		var in []any
		for i, a := range args {
			if t.IsVariadic() && i == len(args)-1 {
				for j := 0; j < a.Len(); j++ {
					in = append(in, a.Index(j).Interface())
				}
				continue
			}
			in = append(in, a.Interface())
		}
		size, items, err := valueSize(in, MaxTemplateValue)
		b.steps += 1 + items
		switch {
		case err != nil:
			panic(fmt.Errorf("%s: %w", name, err))
		case size > MaxTemplateValue:
			panic(fmt.Errorf("%s: its arguments hold more than %s", name, sizeString(MaxTemplateValue)))
		case b.steps > MaxTemplateSteps:
			panic(fmt.Errorf("the template does more than %d steps of work (loop iterations and calls, weighted by their size)", MaxTemplateSteps))
		}
		if pre != nil {
			if err := pre(in, b); err != nil {
				panic(fmt.Errorf("%s: %w", name, err))
			}
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if len(out) > 0 && out[0].IsValid() && out[0].CanInterface() {
			size, _, err := valueSize([]any{out[0].Interface()}, MaxTemplateValue)
			b.alloc += size
			switch {
			case err != nil:
				panic(fmt.Errorf("%s: %w", name, err))
			case size > MaxTemplateValue:
				panic(fmt.Errorf("%s: its result is larger than %s", name, sizeString(MaxTemplateValue)))
			case b.alloc > MaxTemplateAlloc:
				panic(fmt.Errorf("%s: the template functions produced more than %s in all", name, sizeString(MaxTemplateAlloc)))
			}
		}
		return out
	}).Interface()
}

var errCycle = errors.New("a list or dict contains itself")

// valueSize estimates how large the values print (strings by length,
// every list and dict item 16 bytes more for its separators), stopping
// past limit; items is how many values it visited. A dict or list that
// contains itself is an error: printing it would never end.
func valueSize(vals []any, limit int64) (size, items int64, err error) {
	onPath := map[uintptr]bool{}
	var walk func(v reflect.Value, depth int64) error
	walk = func(v reflect.Value, depth int64) error {
		items++
		if size > limit {
			return nil
		}
		size += 16 + depth // nested lists print with more brackets
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if v.IsNil() {
				return nil
			}
			return walk(v.Elem(), depth)
		case reflect.String:
			size += int64(v.Len())
		case reflect.Slice, reflect.Map:
			if v.IsNil() {
				return nil
			}
			if v.Kind() == reflect.Map {
				p := v.Pointer()
				if onPath[p] {
					return errCycle
				}
				onPath[p] = true
				defer delete(onPath, p)
			}
			if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
				size += int64(v.Len())
				return nil
			}
			if v.Len() > MaxTemplateList {
				size = limit + 1
				return nil
			}
			if v.Kind() == reflect.Slice {
				for i := 0; i < v.Len() && size <= limit; i++ {
					if err := walk(v.Index(i), depth+1); err != nil {
						return err
					}
				}
				return nil
			}
			it := v.MapRange()
			for it.Next() && size <= limit {
				size += int64(len(fmt.Sprint(it.Key().Interface())))
				if err := walk(it.Value(), depth+1); err != nil {
					return err
				}
			}
		case reflect.Array:
			for i := 0; i < v.Len() && size <= limit; i++ {
				if err := walk(v.Index(i), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, v := range vals {
		if err := walk(reflect.ValueOf(v), 0); err != nil {
			return size, items, err
		}
	}
	return size, items, nil
}

// preChecks refuse calls whose result would be much larger than their
// arguments, before the result is built.
var preChecks = map[string]func(args []any, b *budget) error{
	"repeat": func(a []any, _ *budget) error {
		return wantSize(mulSat(toInt(a, 0), int64(len(toStr(a, 1)))), "repeat")
	},
	"until": func(a []any, _ *budget) error {
		return wantList(abs(toInt(a, 0)))
	},
	"untilStep": func(a []any, _ *budget) error {
		return wantList(stepCount(toInt(a, 0), toInt(a, 1), toInt(a, 2)))
	},
	"seq": func(a []any, _ *budget) error {
		switch len(a) {
		case 1:
			return wantList(abs(toInt(a, 0)))
		case 2:
			return wantList(abs(toInt(a, 1) - toInt(a, 0)))
		case 3:
			return wantList(stepCount(toInt(a, 0), toInt(a, 2), toInt(a, 1)))
		}
		return nil
	},
	"indent":  indentCheck,
	"nindent": indentCheck,
	"replace": func(a []any, _ *budget) error {
		old, repl, src := toStr(a, 0), toStr(a, 1), toStr(a, 2)
		n := int64(utf8.RuneCountInString(src) + 1)
		if old != "" {
			n = int64(strings.Count(src, old))
		}
		return wantSize(int64(len(src))+mulSat(n, int64(len(repl))), "replace")
	},
	"regexReplaceAll":            regexReplaceCheck,
	"mustRegexReplaceAll":        regexReplaceCheck,
	"regexReplaceAllLiteral":     regexReplaceCheck,
	"mustRegexReplaceAllLiteral": regexReplaceCheck,
	"wrapWith": func(a []any, _ *budget) error {
		s, sep := toStr(a, 2), toStr(a, 1)
		return wantSize(mulSat(int64(len(s)), int64(1+len(sep))), "wrapWith")
	},
	"join": func(a []any, _ *budget) error {
		sep := toStr(a, 0)
		if len(a) < 2 {
			return nil
		}
		v := reflect.ValueOf(a[1])
		if v.Kind() == reflect.Slice {
			return wantSize(mulSat(int64(v.Len()), int64(len(sep))), "join")
		}
		return nil
	},
	"printf": func(a []any, _ *budget) error {
		return printfCheck(toStr(a, 0), a[1:])
	},
	"uniq":        quadratic,
	"mustUniq":    quadratic,
	"without":     quadratic,
	"mustWithout": quadratic,
}

func indentCheck(a []any, _ *budget) error {
	s := toStr(a, 1)
	return wantSize(int64(len(s))+mulSat(toInt(a, 0), int64(strings.Count(s, "\n")+2)), "indent")
}

// regexReplaceCheck bounds the result: each match becomes the
// replacement, whose $references copy at most the match each.
func regexReplaceCheck(a []any, _ *budget) error {
	re, err := regexp.Compile(toStr(a, 0))
	if err != nil {
		return nil // the function reports it
	}
	s, repl := toStr(a, 1), toStr(a, 2)
	refs := int64(strings.Count(repl, "$"))
	size := int64(len(s))
	for _, m := range re.FindAllStringIndex(s, -1) {
		size += int64(len(repl)) + mulSat(refs, int64(m[1]-m[0]))
		if size > MaxTemplateValue {
			break
		}
	}
	return wantSize(size, "the replacement")
}

// printfWidthRE finds the widths and precisions of printf verbs.
var printfWidthRE = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d*|\*)(?:\.(\d*|\*))?`)

func printfCheck(format string, args []any) error {
	for _, m := range printfWidthRE.FindAllStringSubmatch(format, -1) {
		for _, w := range []string{m[2], m[3]} {
			n, _ := strconv.ParseInt(w, 10, 64)
			if len(w) > 8 || n > MaxTemplateValue {
				return fmt.Errorf("width or precision %s is larger than %s", w, sizeString(MaxTemplateValue))
			}
		}
	}
	if strings.Contains(format, "*") {
		for _, a := range args {
			if n, ok := a.(int); ok && n > MaxTemplateValue {
				return fmt.Errorf("width or precision %d is larger than %s", n, sizeString(MaxTemplateValue))
			}
		}
	}
	return nil
}

// quadratic charges Sprig's O(n²) list functions what they cost.
func quadratic(a []any, b *budget) error {
	for _, v := range a {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
			b.steps += int64(rv.Len()) * int64(rv.Len()) / 16
		}
	}
	if b.steps > MaxTemplateSteps {
		return fmt.Errorf("the list is too long for it (more than %d steps of work)", MaxTemplateSteps)
	}
	return nil
}

// mulSat multiplies sizes, saturating instead of overflowing; a negative
// factor counts as its absolute value.
func mulSat(a, b int64) int64 {
	a, b = abs(a), abs(b)
	if a != 0 && b > (1<<62)/a {
		return 1 << 62
	}
	return a * b
}

func wantSize(n int64, what string) error {
	if n > MaxTemplateValue || n < 0 {
		return fmt.Errorf("%s would be larger than %s", what, sizeString(MaxTemplateValue))
	}
	return nil
}

func wantList(n int64) error {
	if n > MaxTemplateList || n < 0 {
		return fmt.Errorf("the list would have more than %d items", MaxTemplateList)
	}
	return nil
}

func stepCount(start, stop, step int64) int64 {
	if step == 0 {
		return 0
	}
	n := (stop - start) / step
	if n < 0 {
		return 0
	}
	return n + 1
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// toInt reads argument i as Sprig does (it converts loosely); anything
// else is 0, which no check refuses.
func toInt(a []any, i int) int64 {
	if i >= len(a) {
		return 0
	}
	v := reflect.ValueOf(a[i])
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > 1<<62 {
			return 1 << 62
		}
		return int64(v.Uint())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f > 1<<62 || f < -(1<<62) {
			return 1 << 62
		}
		return int64(f)
	case reflect.String:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}

func toStr(a []any, i int) string {
	if i >= len(a) {
		return ""
	}
	if s, ok := a[i].(string); ok {
		return s
	}
	return fmt.Sprint(a[i])
}
