package cachemounts

import (
	"path"
	"strings"
)

// This file finds the simple commands of a stage's shell script well enough
// to see which tools run and as whom. It is not a shell: it splits on
// operators (&& || ; | & newline, subshells and command substitutions),
// honours quotes and backslashes, drops redirections and comments, looks
// through wrappers (sudo, env, nice, timeout, xargs, sh -c '...', ...) and
// follows variable assignments and exports well enough to know where tools
// keep their caches. Anything it cannot read simply detects nothing.

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

// token is a word, or an operator that ends a simple command.
type token struct {
	text string
	op   bool
}

// lex splits a script into words and command separators.
func lex(s string) []token {
	var (
		out    []token
		cur    strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			out = append(out, token{text: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	sep := func() { flush(); out = append(out, token{op: true}) }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
				inWord = true
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i = lexDouble(s, i+1, &cur)
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			sep()
		case c == ' ' || c == '\t':
			flush()
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			i++
			sep()
		case strings.IndexByte("\n;&|()`", c) >= 0:
			if c == '&' && i+1 < len(s) && s[i+1] == '>' {
				i = skipRedirect(s, i+1)
				flush()
				continue
			}
			sep()
		case c == '<' || c == '>':
			if isDigits(cur.String()) {
				cur.Reset()
				inWord = false
			}
			flush()
			i = skipRedirect(s, i)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return out
}

// lexDouble reads a double-quoted string from s[i:] into cur and returns
// the index of the closing quote.
func lexDouble(s string, i int, cur *strings.Builder) int {
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
			}
		default:
			cur.WriteByte(c)
		}
	}
	return i
}

// skipRedirect skips a redirection operator at s[i] and its target word,
// returning the index of the last byte consumed.
func skipRedirect(s string, i int) int {
	for i+1 < len(s) && strings.IndexByte("<>&|", s[i+1]) >= 0 {
		i++
	}
	for i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
		i++
	}
	for i+1 < len(s) && strings.IndexByte(" \t\n;&|()<>", s[i+1]) < 0 {
		i++
	}
	return i
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseScript returns the simple commands of the stage's commands, which
// run one after another in one shell, so exports carry over.
func parseScript(commands []string, ctx userCtx) []command {
	var out []command
	for _, c := range commands {
		out = append(out, parseWords(lex(c), &ctx)...)
	}
	return out
}

func parseWords(toks []token, ctx *userCtx) []command {
	var (
		out   []command
		words []string
	)
	end := func() {
		out = append(out, resolve(words, ctx)...)
		words = nil
	}
	for _, t := range toks {
		if t.op {
			end()
			continue
		}
		words = append(words, t.text)
	}
	end()
	return out
}

// shellKeywords may start a simple command without being one.
var shellKeywords = map[string]bool{
	"!": true, "{": true, "}": true, "if": true, "then": true, "else": true, "elif": true,
	"fi": true, "while": true, "until": true, "do": true, "done": true, "time": true,
}

// resolve reads the words of one simple command: leading assignments
// (which, alone, change the script's environment), keywords and wrappers;
// it returns the command that really runs, or the commands of an `sh -c`
// script.
func resolve(words []string, script *userCtx) []command {
	ctx := script.clone()
	i := 0
	for i < len(words) && shellKeywords[words[i]] {
		i++
	}
	i = assignments(words, i, &ctx)
	if i == len(words) {
		*script = ctx // `A=b` alone sets a shell variable
		return nil
	}
	return unwrap(words[i:], ctx, script)
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
			return parseWords(lex(args[i+1]), &script)
		}
	}
	return nil
}
