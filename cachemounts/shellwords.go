package cachemounts

import (
	"path"
	"strings"

	shexpand "mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// This file finds the simple commands of a stage's shell script well enough
// to see which tools run and as whom. mvdan.cc/sh parses the script as bash
// does (operators, quotes, subshells, command substitutions, redirections,
// heredocs, comments, compound commands); this file looks through wrappers
// (sudo, env, nice, timeout, xargs, sh -c '...', ...) and follows variable
// assignments and exports well enough to know where tools keep their
// caches. A script bash cannot parse detects nothing.

// userCtx is who runs a command and with which environment.
type userCtx struct {
	// known is false when the user cannot be told (sudo -u someone): caches
	// that live in a home directory are then skipped.
	known    bool
	uid, gid int
	home     string // "" when unknown
	env      map[string]string
}

func (c userCtx) clone() userCtx {
	env := make(map[string]string, len(c.env))
	for k, v := range c.env {
		env[k] = v
	}
	c.env = env
	return c
}

func (c userCtx) root() bool { return c.known && c.uid == 0 }

// rootCtx is the context of `sudo cmd`: root, HOME=/root, and sudo's
// env_reset drops the caller's environment unless keepEnv (sudo -E).
func (c userCtx) rootCtx(keepEnv bool) userCtx {
	n := userCtx{known: true, home: "/root", env: map[string]string{}}
	if keepEnv {
		n = c.clone()
		n.known, n.uid, n.gid = true, 0, 0
	}
	n.home = "/root"
	n.env["HOME"] = "/root"
	return n
}

// command is one simple command: its name (the base name of the command
// word) and arguments, with the context it runs in.
type command struct {
	name string
	args []string
	ctx  userCtx
}

// parseScript returns the simple commands of the stage's commands, which
// run one after another in one shell, so exports carry over.
func parseScript(commands []string, ctx userCtx) []command {
	var out []command
	for _, c := range commands {
		out = append(out, parseShell(c, &ctx)...)
	}
	return out
}

// parseShell returns the simple commands of one script in the order they
// appear, and applies its assignments and exports to script.
func parseShell(src string, script *userCtx) []command {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return nil
	}
	var out []command
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			out = append(out, callCommands(n, script)...)
		case *syntax.DeclClause:
			if n.Variant.Value == "export" {
				for _, a := range n.Args {
					assign(a, script)
				}
			}
		}
		return true
	})
	return out
}

// callCommands reads one simple command: leading assignments (which,
// alone, change the script's environment) and the words that run.
func callCommands(call *syntax.CallExpr, script *userCtx) []command {
	ctx := script.clone()
	for _, a := range call.Assigns {
		assign(a, &ctx)
	}
	if len(call.Args) == 0 {
		*script = ctx // `A=b` alone sets a shell variable
		return nil
	}
	words := make([]string, len(call.Args))
	for i, w := range call.Args {
		words[i] = wordString(w, ctx)
	}
	return unwrap(words, ctx, script)
}

// assign applies NAME=value to ctx; arrays and `+=` are not followed.
func assign(a *syntax.Assign, ctx *userCtx) {
	if a.Name == nil || a.Array != nil || a.Index != nil || a.Naked && a.Value == nil {
		return
	}
	v := ""
	if a.Value != nil {
		v = wordString(a.Value, *ctx)
	}
	ctx.env[a.Name.Value] = v
}

// wordString expands a word as the shell would, with the variables ctx
// knows; a word the expansion cannot do alone (a command substitution) is
// taken as written.
func wordString(w *syntax.Word, ctx userCtx) string {
	s, err := shexpand.Literal(&shexpand.Config{Env: ctxEnviron(ctx)}, w)
	if err != nil {
		var b strings.Builder
		_ = syntax.NewPrinter().Print(&b, w)
		return b.String()
	}
	return s
}

// ctxEnviron is ctx's environment for mvdan.cc/sh's expansion.
type ctxEnviron userCtx

func (e ctxEnviron) Get(name string) shexpand.Variable {
	if user, ok := strings.CutPrefix(name, "HOME "); ok {
		// ~user: never the build host's user database
		return shexpand.Variable{Set: true, Kind: shexpand.String, Str: "~" + user}
	}
	v, ok := e.env[name]
	if !ok && name == "HOME" && e.home != "" {
		v, ok = e.home, true
	}
	if !ok {
		return shexpand.Variable{}
	}
	return shexpand.Variable{Set: true, Exported: true, Kind: shexpand.String, Str: v}
}

func (e ctxEnviron) Each(f func(name string, vr shexpand.Variable) bool) {
	for k := range e.env {
		if !f(k, e.Get(k)) {
			return
		}
	}
}

// shellKeywords may start a simple command without being one.
var shellKeywords = map[string]bool{
	"!": true, "{": true, "}": true, "if": true, "then": true, "else": true, "elif": true,
	"fi": true, "while": true, "until": true, "do": true, "done": true, "time": true,
}

// assignments applies NAME=value words from words[i:] to ctx and returns
// the index of the first other word.
func assignments(words []string, i int, ctx *userCtx) int {
	for ; i < len(words); i++ {
		k, v, ok := strings.Cut(words[i], "=")
		if !ok || !isName(k) {
			return i
		}
		ctx.env[k] = expand(v, *ctx)
	}
	return i
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// expand replaces a leading ~ and $NAME / ${NAME} from ctx.
func expand(v string, ctx userCtx) string {
	if v == "~" || strings.HasPrefix(v, "~/") {
		v = ctx.home + v[1:]
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		name, n := varName(v[i+1:])
		if n == 0 {
			b.WriteByte('$')
			continue
		}
		b.WriteString(ctx.env[name])
		i += n
	}
	return b.String()
}

// varName reads NAME or {NAME} at the start of s and returns it with the
// number of bytes it took.
func varName(s string) (string, int) {
	if strings.HasPrefix(s, "{") {
		if j := strings.IndexByte(s, '}'); j > 0 && isName(s[1:j]) {
			return s[1:j], j + 1
		}
		return "", 0
	}
	n := 0
	for n < len(s) && isName(s[:n+1]) {
		n++
	}
	return s[:n], n
}

// unwrap looks through wrapper commands to the command that runs.
func unwrap(words []string, ctx userCtx, script *userCtx) []command {
	for len(words) > 0 {
		name := path.Base(words[0])
		args := words[1:]
		var rest []string
		switch name {
		case "export":
			assignments(args, 0, script)
			return nil
		case "unset":
			for _, a := range args {
				delete(script.env, a)
			}
			return nil
		case "sudo":
			rest, ctx = unwrapSudo(args, ctx)
		case "su-exec", "gosu", "chpst", "setpriv", "runuser":
			if len(args) < 2 {
				return nil
			}
			rest, ctx = args[1:], asUser(args[0], ctx)
		case "env":
			rest = unwrapEnv(args, &ctx)
		case "nice", "ionice", "nohup", "exec", "stdbuf", "eatmydata", "chronic", "unbuffer", "time", "timeout", "xargs", "command", "builtin", "corepack":
			rest = skipOptions(args, wrapperArgOpts[name])
			if name == "timeout" && len(rest) > 0 {
				rest = rest[1:] // the duration
			}
		case "sh", "bash", "dash", "ash", "zsh", "ksh":
			return unwrapShell(args, ctx)
		default:
			return []command{{name: name, args: args, ctx: ctx}}
		}
		words = rest
		for len(words) > 0 && shellKeywords[words[0]] {
			words = words[1:]
		}
		words = words[assignments(words, 0, &ctx):]
	}
	return nil
}

// wrapperArgOpts lists, per wrapper, the options that take a separate
// argument.
var wrapperArgOpts = map[string]string{
	"nice":    "-n --adjustment",
	"ionice":  "-c -n -p -P -u --class --classdata",
	"exec":    "-a",
	"stdbuf":  "-i -o -e --input --output --error",
	"timeout": "-s -k --signal --kill-after",
	"xargs":   "-a -d -E -I -L -n -P -s --arg-file --delimiter --max-args --max-procs --max-chars --process-slot-var",
	"sudo":    "-u -g -C -D -h -p -r -t -U -T -R --user --group --close-from --chdir --host --prompt --role --type --other-user --command-timeout --chroot",
	"env":     "-u -C -S --unset --chdir --split-string",
}

// skipOptions returns args after the leading options; options listed in
// withArg take the next word unless written as --opt=value or -oVALUE.
func skipOptions(args []string, withArg string) []string {
	takes := strings.Fields(withArg)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args[i+1:]
		case !strings.HasPrefix(a, "-") || a == "-":
			return args[i:]
		case strings.Contains(a, "="):
		case len(a) > 2 && !strings.HasPrefix(a, "--"):
			// -n10 or a cluster of flags such as -ex
		default:
			for _, t := range takes {
				if a == t {
					i++
				}
			}
		}
	}
	return nil
}

func unwrapSudo(args []string, ctx userCtx) ([]string, userCtx) {
	user, keepEnv := "root", false
	for i := 0; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		a := args[i]
		switch {
		case a == "-u" || a == "--user":
			if i+1 < len(args) {
				user = args[i+1]
			}
		case strings.HasPrefix(a, "--user="):
			user = strings.TrimPrefix(a, "--user=")
		case strings.HasPrefix(a, "-u") && len(a) > 2:
			user = a[2:]
		case a == "-E" || strings.HasPrefix(a, "--preserve-env"):
			keepEnv = true
		}
	}
	rest := skipOptions(args, wrapperArgOpts["sudo"])
	if user == "root" || user == "0" || user == "#0" {
		return rest, ctx.rootCtx(keepEnv)
	}
	return rest, asUser(user, ctx)
}

// asUser is the context of a command run as another user: root is known,
// anyone else is not.
func asUser(user string, ctx userCtx) userCtx {
	if u, _, _ := strings.Cut(user, ":"); u == "root" || u == "0" {
		return ctx.rootCtx(true)
	}
	n := ctx.clone()
	n.known, n.home = false, ""
	return n
}

func unwrapEnv(args []string, ctx *userCtx) []string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-i" || a == "--ignore-environment" || a == "-":
			ctx.env = map[string]string{}
		case a == "-u" || a == "--unset":
			if i+1 < len(args) {
				delete(ctx.env, args[i+1])
			}
		}
		if !strings.HasPrefix(args[i], "-") {
			break
		}
	}
	return skipOptions(args, wrapperArgOpts["env"])
}

// unwrapShell parses the script of `sh -c 'script'`; a shell running a
// script file detects nothing.
func unwrapShell(args []string, ctx userCtx) []command {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "+") {
			return nil
		}
		if a != "--" && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") && i+1 < len(args) {
			script := ctx
			return parseShell(args[i+1], &script)
		}
	}
	return nil
}
