package cachemounts

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// Detect returns the automatic cache mounts for a user stage's commands:
// one set per package manager or build tool the commands run (see the
// package documentation for the list), deduplicated by target and sorted by
// target. It returns nil when opt.Auto is false.
func Detect(commands []string, opt Opt) []Mount {
	if !opt.Auto {
		return nil
	}
	cmds := parseScript(commands, stageCtx(opt))
	var out []Mount
	add := func(ms ...Mount) {
		for _, m := range ms {
			if !slices.ContainsFunc(out, func(o Mount) bool { return o.Target == m.Target }) {
				out = append(out, m)
			}
		}
	}
	for _, c := range cmds {
		if t, ok := toolOf(c); ok {
			add(t(c.ctx, opt)...)
		}
		if usesCcache(c) {
			add(ccache(c.ctx, opt)...)
		}
	}
	if slices.ContainsFunc(out, func(m Mount) bool { return m.Target == aptArchives }) {
		add(aptConfig(!mentions(commands, "docker-clean"))...)
	}
	sortByTarget(out)
	return out
}

// stageCtx is the context the stage's script starts in.
func stageCtx(opt Opt) userCtx {
	ctx := userCtx{known: true, uid: opt.UID, gid: opt.GID, home: opt.Home, env: map[string]string{}}
	for _, kv := range opt.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ctx.env[k] = v
		}
	}
	if h := ctx.env["HOME"]; h != "" {
		ctx.home = h
	}
	if ctx.home == "" && opt.UID == 0 {
		ctx.home = "/root"
	}
	return ctx
}

func mentions(commands []string, s string) bool {
	return slices.ContainsFunc(commands, func(c string) bool { return strings.Contains(c, s) })
}

type toolFunc func(ctx userCtx, opt Opt) []Mount

// tools maps a command's base name to the caches it needs.
var tools = map[string]toolFunc{
	"apt": apt, "apt-get": apt, "aptitude": apt,
	"apk": apk,
	"yum": dnf, "dnf": dnf, "dnf5": dnf, "microdnf": dnf,
	"npm": npm, "npx": npm,
	"yarn": yarn, "yarnpkg": yarn,
	"pnpm": pnpm, "pnpx": pnpm,
	"pip":      pip,
	"composer": composer, "composer.phar": composer,
	"bundle": bundler, "bundler": bundler, "gem": bundler,
	"go":    golang,
	"cargo": cargo,
	"mvn":   maven, "mvnw": mavenWrapper,
	"gradle": gradle, "gradlew": gradle,
}

var (
	pipName    = regexp.MustCompile(`^pip[0-9.]*$`)
	pythonName = regexp.MustCompile(`^python[0-9.]*$`)
)

// toolOf names the tool a command runs: its base name, with pip3.11 and
// `python3 -m pip` read as pip.
func toolOf(c command) (toolFunc, bool) {
	name := c.name
	switch {
	case pipName.MatchString(name):
		name = "pip"
	case pythonName.MatchString(name) && runsPipModule(c.args):
		name = "pip"
	}
	t, ok := tools[name]
	return t, ok
}

func runsPipModule(args []string) bool {
	for i, a := range args {
		if a == "-mpip" || a == "-m" && i+1 < len(args) && args[i+1] == "pip" {
			return true
		}
		if !strings.HasPrefix(a, "-") {
			return false // a script: python runs it, not pip
		}
	}
	return false
}

// usesCcache is true when ccache runs directly or is named anywhere in the
// command (CC="ccache gcc", -DCMAKE_C_COMPILER_LAUNCHER=ccache).
func usesCcache(c command) bool {
	return c.name == "ccache" || slices.ContainsFunc(c.args, func(a string) bool { return strings.Contains(a, "ccache") })
}

// Paths of the apt caches; see aptConfig.
const (
	aptArchives = "/var/cache/apt"
	aptLists    = "/var/lib/apt/lists"
)

// systemCache is a cache at a fixed system path, owned by root: the tools
// that use them run as root and manage permissions inside themselves (apt
// hands partial/ to its _apt sandbox user). The system package managers
// (apt, apk, dnf) lock their caches against a second process and fail on
// that lock, or lose files another one is reading (`apt-get clean`,
// `rm -rf /var/lib/apt/lists/*`), so their caches are Private: see Private
// for why not Locked.
func systemCache(opt Opt, target string, sharing Sharing, reason string, id ...string) Mount {
	return Mount{Target: target, Type: Cache, ID: opt.cacheID(append([]string{"auto"}, id...)...), Sharing: sharing, Reason: reason}
}

func apt(_ userCtx, opt Opt) []Mount {
	archives := systemCache(opt, aptArchives, Private, "apt package cache", "apt", "cache")
	// apt rebuilds its binary caches from the lists in a second; they are
	// as big as the lists (about 80 MB for Debian's main)
	archives.NotSaved = []string{"pkgcache.bin", "srcpkgcache.bin"}
	return []Mount{archives, systemCache(opt, aptLists, Private, "apt package lists", "apt", "lists")}
}

func apk(_ userCtx, opt Opt) []Mount {
	// apk caches packages only when /etc/apk/cache exists; mounting the
	// cache there turns caching on for the step, and BuildKit removes the
	// mount point afterwards.
	return []Mount{systemCache(opt, "/etc/apk/cache", Private, "apk package cache", "apk")}
}

func dnf(_ userCtx, opt Opt) []Mount {
	// yum (EL7) and microdnf use /var/cache/yum, dnf 4 /var/cache/dnf and
	// dnf5 /var/cache/libdnf5; `yum` is dnf on EL8+. The unused ones leave
	// no trace.
	return []Mount{
		systemCache(opt, "/var/cache/yum", Private, "yum/microdnf metadata and package cache", "dnf", "yum"),
		systemCache(opt, "/var/cache/dnf", Private, "dnf metadata and package cache", "dnf", "dnf"),
		systemCache(opt, "/var/cache/libdnf5", Private, "dnf5 metadata and package cache", "dnf", "libdnf5"),
	}
}

// userCache is a cache owned by the command's user at a path that follows
// its home and environment. It is nil when the path is unknown.
func userCache(ctx userCtx, opt Opt, target string, sharing Sharing, reason string, id ...string) []Mount {
	if !ctx.known || target == "" || !path.IsAbs(target) {
		return nil
	}
	target = path.Clean(target)
	if target == "/" {
		return nil
	}
	ids := append(append([]string{"auto"}, id...), ownerPart(ctx.uid, ctx.gid))
	return []Mount{{Target: target, Type: Cache, ID: opt.cacheID(ids...), Sharing: sharing, UID: ctx.uid, GID: ctx.gid, Reason: reason}}
}

// inHome is home/rel, or "" when the home is unknown.
func (c userCtx) inHome(rel string) string {
	if c.home == "" {
		return ""
	}
	return path.Join(c.home, rel)
}

// firstOf returns the first non-empty value.
func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// under is dir/rel, or "" when dir is "".
func under(dir, rel string) string {
	if dir == "" {
		return ""
	}
	return path.Join(dir, rel)
}

// xdgCache is $XDG_CACHE_HOME/rel, by default ~/.cache/rel.
func (c userCtx) xdgCache(rel string) string {
	return firstOf(under(c.env["XDG_CACHE_HOME"], rel), c.inHome(path.Join(".cache", rel)))
}

func npm(ctx userCtx, opt Opt) []Mount {
	dir := firstOf(ctx.env["npm_config_cache"], ctx.env["NPM_CONFIG_CACHE"], ctx.inHome(".npm"))
	// npm's cacache writes content-addressed files atomically.
	return userCache(ctx, opt, dir, Shared, "npm cache", "npm")
}

func yarn(ctx userCtx, opt Opt) []Mount {
	classic := firstOf(ctx.env["YARN_CACHE_FOLDER"], ctx.xdgCache("yarn"))
	berry := firstOf(under(ctx.env["YARN_GLOBAL_FOLDER"], "cache"), ctx.inHome(".yarn/berry/cache"))
	// Yarn 1 corrupts its cache under concurrent installs (hence its
	// --mutex flag): private. Yarn 2+ writes cache archives atomically.
	return append(userCache(ctx, opt, classic, Private, "yarn v1 cache", "yarn", "classic"),
		userCache(ctx, opt, berry, Shared, "yarn berry global cache", "yarn", "berry")...)
}

func pnpm(ctx userCtx, opt Opt) []Mount {
	if dir := firstOf(ctx.env["pnpm_config_store_dir"], ctx.env["npm_config_store_dir"]); dir != "" {
		return userCache(ctx, opt, dir, Shared, "pnpm store", "pnpm")
	}
	dir := firstOf(under(ctx.env["PNPM_HOME"], "store"), under(ctx.env["XDG_DATA_HOME"], "pnpm/store"), ctx.inHome(".local/share/pnpm/store"))
	ms := userCache(ctx, opt, dir, Shared, "pnpm store", "pnpm")
	// Left to itself, pnpm puts its store on the project's filesystem (at
	// its root, or in node_modules) when the default store is on another
	// one, as a cache mount is; that store would land in the layer. Named
	// explicitly, the store is used and packages are copied from it.
	for i := range ms {
		ms[i].Env = []string{"npm_config_store_dir=" + ms[i].Target, "pnpm_config_store_dir=" + ms[i].Target}
	}
	return ms
}

func pip(ctx userCtx, opt Opt) []Mount {
	switch strings.ToLower(ctx.env["PIP_NO_CACHE_DIR"]) {
	case "", "0", "false", "no", "off":
	default:
		return nil // the user turned pip's cache off
	}
	dir := firstOf(ctx.env["PIP_CACHE_DIR"], ctx.xdgCache("pip"))
	// pip's wheel cache holds wheels it built, tagged linux_<arch> whatever
	// the libc, so it is keyed by the base image (glibc and musl wheels
	// must not mix).
	key := "base-" + idPart(opt.Base)
	if opt.Base == "" {
		key = "project-" + opt.project()
	}
	return userCache(ctx, opt, dir, Shared, "pip cache", "pip", key)
}

func composer(ctx userCtx, opt Opt) []Mount {
	if dir := firstOf(ctx.env["COMPOSER_CACHE_DIR"], under(ctx.env["COMPOSER_HOME"], "cache")); dir != "" {
		return userCache(ctx, opt, dir, Shared, "composer cache", "composer")
	}
	// Composer picks $XDG_CACHE_HOME/composer or ~/.composer/cache depending
	// on the image (XDG variables, /etc/xdg); mount both.
	return append(userCache(ctx, opt, ctx.xdgCache("composer"), Shared, "composer cache", "composer"),
		userCache(ctx, opt, ctx.inHome(".composer/cache"), Shared, "composer cache (~/.composer)", "composer", "home")...)
}

func bundler(ctx userCtx, opt Opt) []Mount {
	user := firstOf(ctx.env["BUNDLE_USER_CACHE"], under(ctx.env["BUNDLE_USER_HOME"], "cache"), ctx.inHome(".bundle/cache"))
	// RubyGems and Bundler write downloads in place: private.
	ms := userCache(ctx, opt, user, Private, "bundler cache", "bundler")
	if gh := ctx.env["GEM_HOME"]; gh != "" {
		ms = append(ms, userCache(ctx, opt, path.Join(gh, "cache"), Private, "downloaded gems ($GEM_HOME/cache)", "gem")...)
	}
	return ms
}

func golang(ctx userCtx, opt Opt) []Mount {
	var ms []Mount
	if gc := ctx.env["GOCACHE"]; gc != "off" {
		// Go's build cache is made for concurrent use; its keys include the
		// toolchain and, with cgo, the C compiler and flags.
		ms = userCache(ctx, opt, firstOf(gc, ctx.xdgCache("go-build")), Shared, "go build cache", "go", "build")
	}
	gopath, _, _ := strings.Cut(ctx.env["GOPATH"], ":")
	mod := firstOf(ctx.env["GOMODCACHE"], under(gopath, "pkg/mod"), ctx.inHome("go/pkg/mod"))
	// The module cache locks its own files.
	return append(ms, userCache(ctx, opt, mod, Shared, "go module cache", "go", "mod")...)
}

func cargo(ctx userCtx, opt Opt) []Mount {
	home := firstOf(ctx.env["CARGO_HOME"], ctx.inHome(".cargo"))
	if home == "" {
		return nil
	}
	// Cargo's package-cache lock lives in CARGO_HOME itself, outside these
	// mounts, so concurrent steps would not see it: private. CARGO_HOME/bin
	// (cargo itself in the rust images) stays in the image.
	return append(userCache(ctx, opt, path.Join(home, "registry"), Private, "cargo registry cache", "cargo", "registry"),
		userCache(ctx, opt, path.Join(home, "git"), Private, "cargo git cache", "cargo", "git")...)
}

func maven(ctx userCtx, opt Opt) []Mount {
	// Maven's local repository is not safe for concurrent writers: private.
	return userCache(ctx, opt, ctx.inHome(".m2/repository"), Private, "maven local repository", "maven", "repository")
}

func mavenWrapper(ctx userCtx, opt Opt) []Mount {
	return append(maven(ctx, opt), userCache(ctx, opt, ctx.inHome(".m2/wrapper"), Private, "maven wrapper distributions", "maven", "wrapper")...)
}

func gradle(ctx userCtx, opt Opt) []Mount {
	home := firstOf(ctx.env["GRADLE_USER_HOME"], ctx.inHome(".gradle"))
	if home == "" {
		return nil
	}
	// Gradle coordinates its cache locks between processes over the
	// loopback network, which separate build containers do not share:
	// private.
	return append(userCache(ctx, opt, path.Join(home, "caches"), Private, "gradle caches", "gradle", "caches"),
		userCache(ctx, opt, path.Join(home, "wrapper"), Private, "gradle wrapper distributions", "gradle", "wrapper")...)
}

func ccache(ctx userCtx, opt Opt) []Mount {
	// ~/.ccache is ccache 3's default, and ccache 4 uses it whenever it
	// exists, which the mount makes true.
	return userCache(ctx, opt, firstOf(ctx.env["CCACHE_DIR"], ctx.inHome(".ccache")), Shared, "ccache", "ccache")
}
