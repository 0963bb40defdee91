package dappfile

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Checks of single values that anyone who can open a pull request
// controls: they are refused with their location rather than passed on,
// normalised or silently ignored.

// badRune returns the first rune of s that is a control character or
// otherwise invisible (ANSI escapes, newlines), and whether there is one.
// Such values reach progress output and image configs.
func badRune(s string) (rune, bool) {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) && r != ' ' {
			return r, true
		}
	}
	return 0, false
}

// checkPrintable refuses control characters in a value that ends up in
// progress output or in an image config as a single line.
func (d *docDecoder) checkPrintable(n *yaml.Node, p, v string) bool {
	if r, bad := badRune(v); bad {
		d.errorf(n, "`%s` must not contain control characters, got %q (character %U)", p, v, r)
		return false
	}
	return true
}

// checkNoDotDot refuses `..` in a path: the frontend does not guess what
// the user meant by normalising it.
func (d *docDecoder) checkNoDotDot(n *yaml.Node, p, v string) bool {
	for _, seg := range strings.Split(v, "/") {
		if seg == ".." {
			d.errorf(n, "`%s` must not contain `..`, got %q: write the path it stands for", p, v)
			return false
		}
	}
	return true
}

// checkName refuses image and artifact names with control characters.
func (d *docDecoder) checkName(n *yaml.Node, p, v string) {
	d.checkPrintable(n, p, v)
}

// reservedMountTargets are the kernel filesystems a build step needs;
// mounting a cache over them breaks the step or leaks its contents.
var reservedMountTargets = []string{"/proc", "/dev", "/sys"}

// checkMountTarget refuses mounts over / and the kernel filesystems.
func (d *docDecoder) checkMountTarget(n *yaml.Node, p, v string) {
	clean := path.Clean(v)
	if clean == "/" {
		d.errorf(n, "`%s` must not be /: a mount over the root file system hides the image", p)
		return
	}
	for _, r := range reservedMountTargets {
		if clean == r || strings.HasPrefix(clean, r+"/") {
			d.errorf(n, "`%s` must not be %s or below it, got %q: the build step needs the kernel's %s there", p, r, v, r)
			return
		}
	}
}

// gitRefRE accepts what git check-ref-format accepts, minus rules that
// never matter here; a leading `-` would read as an option.
var gitRefRE = regexp.MustCompile(`^[^-\s~^:?*\[\\][^\s~^:?*\[\\]*$`)

// checkGitRef checks branch and tag names.
func (d *docDecoder) checkGitRef(n *yaml.Node, p, v string) {
	switch {
	case v == "":
		d.errorf(n, "`%s` must not be empty", p)
	case strings.HasPrefix(v, "-"):
		d.errorf(n, "`%s` must not start with `-`, got %q: git would read it as an option", p, v)
	case strings.Contains(v, "..") || strings.HasSuffix(v, "/") || strings.HasSuffix(v, ".lock") || !gitRefRE.MatchString(v):
		if d.checkPrintable(n, p, v) {
			d.errorf(n, "`%s` is not a valid git ref name, got %q (no spaces, `..`, `~^:?*[\\` or trailing `/`)", p, v)
		}
	}
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// checkCommit wants a full commit id: a short one cannot pin the build.
func (d *docDecoder) checkCommit(n *yaml.Node, p, v string) {
	if !commitRE.MatchString(v) {
		d.errorf(n, "`%s` must be a full commit id (40 lowercase hexadecimal digits, 64 for sha256 repositories), got %q", p, v)
	}
}

// gitURLRE matches the URL forms the frontend fetches: http(s), ssh and
// git URLs, and scp-like `user@host:path`.
var (
	gitURLSchemeRE = regexp.MustCompile(`^(https?|ssh|git)://[^/\s]+`)
	gitSCPRE       = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]`)
)

// checkGitURL refuses remote URLs git would treat as a command (`ext::`),
// a host path (`file://`, `/path`) or an option (`-u...`).
func (d *docDecoder) checkGitURL(n *yaml.Node, p, v string) {
	const want = "https://, http://, ssh://, git:// or user@host:path"
	switch {
	case !d.checkPrintable(n, p, v):
	case strings.HasPrefix(v, "-"):
		d.errorf(n, "`%s` must not start with `-`, got %q: git would read it as an option", p, v)
	case strings.Contains(v, "::"):
		d.errorf(n, "`%s` uses git's transport syntax %q, which can run commands: use %s", p, v[:strings.Index(v, "::")+2], want)
	case strings.HasPrefix(strings.ToLower(v), "file:"), strings.HasPrefix(v, "/"), strings.HasPrefix(v, "."):
		d.errorf(n, "`%s` must be a remote repository, got local path %q: use %s (a `git` entry without `url` is the build context's repository)", p, v, want)
	case !gitURLSchemeRE.MatchString(v) && !gitSCPRE.MatchString(v):
		d.errorf(n, "`%s` must be a git URL (%s), got %q", p, want, v)
	}
}

// checkExpose checks one EXPOSE entry: PORT, PORT/PROTO or a range
// PORT-PORT, as a Dockerfile EXPOSE takes it.
func (d *docDecoder) checkExpose(n *yaml.Node, p, v string) {
	ports, proto, hasProto := strings.Cut(v, "/")
	bad := func(why string) {
		d.errorf(n, "`%s` must be a port (1-65535) or a range (8000-8010), optionally followed by /tcp, /udp or /sctp, got %q: %s", p, v, why)
	}
	if hasProto && !contains([]string{"tcp", "udp", "sctp"}, strings.ToLower(proto)) {
		bad(fmt.Sprintf("unknown protocol %q", proto))
		return
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	if lo == "" {
		lo = ports // "-1" is a negative number, not a range
	}
	first, err1 := portNumber(lo)
	last, err2 := first, error(nil)
	if isRange {
		last, err2 = portNumber(hi)
	}
	switch {
	case err1 != nil:
		bad(err1.Error())
	case err2 != nil:
		bad(err2.Error())
	case last < first:
		bad("the range ends before it starts")
	}
}

func portNumber(s string) (int, error) {
	v, err := strconv.Atoi(s)
	switch {
	case err != nil || strings.HasPrefix(s, "+"):
		return 0, fmt.Errorf("%q is not a number", s)
	case v < 1 || v > 65535:
		return 0, fmt.Errorf("port %d is out of range", v)
	}
	return v, nil
}

// signals are the names STOPSIGNAL takes (Linux, without SIG), as
// BuildKit's and Docker's signal tables spell them.
var signals = []string{
	"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
	"KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
	"TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
}

var rtSignalRE = regexp.MustCompile(`^RT(MIN|MAX)([+-]([0-9]|1[0-5]))?$`)

// checkStopSignal accepts a signal name (with or without SIG) or number.
func (d *docDecoder) checkStopSignal(n *yaml.Node, p, v string) {
	if num, err := strconv.Atoi(v); err == nil {
		if num < 1 || num > 64 {
			d.errorf(n, "`%s` signal number %d is out of range (1-64)", p, num)
		}
		return
	}
	name := strings.TrimPrefix(strings.ToUpper(v), "SIG")
	if contains(signals, name) || rtSignalRE.MatchString(name) {
		return
	}
	options := make([]string, len(signals))
	for i, s := range signals {
		options[i] = "SIG" + s
	}
	d.errorf(n, "`%s` names unknown signal %q%s", p, v, didYouMean("SIG"+name, options))
}

// checkWorkdir wants an absolute WORKDIR: a relative one resolves against
// the base image's working directory, which the Dappfile does not show.
func (d *docDecoder) checkWorkdir(n *yaml.Node, p, v string) {
	if !d.checkPrintable(n, p, v) || path.IsAbs(v) {
		return
	}
	d.errorf(n, "`%s` must be an absolute path, got %q: Docker resolves it against the base image's working directory (%q when that is /); write that path", p, v, path.Join("/", v))
}

// checkEnvKey refuses ENV names that cannot round-trip through NAME=VALUE.
func (d *docDecoder) checkEnvKey(n *yaml.Node, p, k string) {
	switch {
	case strings.Contains(k, "="):
		d.errorf(n, "`%s` name %q must not contain `=`: an environment entry is NAME=VALUE", p, k)
	default:
		d.checkPrintable(n, p+" name", k)
	}
}
