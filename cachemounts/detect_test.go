package cachemounts

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// summary is a readable form of mounts: "target type id sharing uid:gid env".
func summary(ms []Mount) []string {
	var out []string
	for _, m := range ms {
		s := fmt.Sprintf("%s %s", m.Target, m.Type)
		if m.Type == Cache {
			s += fmt.Sprintf(" %s %s", m.ID, m.Sharing)
		}
		if m.UID != 0 || m.GID != 0 {
			s += fmt.Sprintf(" %d:%d", m.UID, m.GID)
		}
		for _, e := range m.Env {
			s += " " + e
		}
		out = append(out, s)
	}
	return out
}

var aptMounts = []string{
	"/etc/apt/apt.conf.d/docker-clean file",
	"/etc/apt/apt.conf.d/zz-dapp-frontend-cache file",
	"/var/cache/apt cache dapp/auto/apt/cache private",
	"/var/lib/apt/lists cache dapp/auto/apt/lists private",
}

func TestDetect(t *testing.T) {
	t.Parallel()
	root := Opt{Auto: true, Project: "shop"}
	app := Opt{Auto: true, Project: "shop", UID: 1000, GID: 1000, Home: "/home/app"}
	tests := []struct {
		name     string
		commands []string
		opt      Opt
		want     []string
	}{
		{name: "apt-get", commands: []string{"apt-get update", "apt-get install -y curl"}, opt: root, want: aptMounts},
		{name: "sudo apt", commands: []string{"sudo -E apt install -y curl"}, opt: app, want: aptMounts},
		{name: "apt path and env prefix", commands: []string{"DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get -qq install curl >/dev/null 2>&1"}, opt: root, want: aptMounts},
		{name: "user handles docker-clean", commands: []string{"rm -f /etc/apt/apt.conf.d/docker-clean", "apt-get update"}, opt: root, want: aptMounts[1:]},
		{name: "namespace", commands: []string{"apt-get update"}, opt: Opt{Auto: true, Namespace: "tenant"}, want: []string{
			"/etc/apt/apt.conf.d/docker-clean file",
			"/etc/apt/apt.conf.d/zz-dapp-frontend-cache file",
			"/var/cache/apt cache tenant/dapp/auto/apt/cache private",
			"/var/lib/apt/lists cache tenant/dapp/auto/apt/lists private",
		}},
		{name: "auto off", commands: []string{"apt-get update"}, opt: Opt{Project: "shop"}, want: nil},
		{name: "words are not commands", commands: []string{"echo npm install", "grep -r apt-get .", "cat go.mod"}, opt: root, want: nil},
		{name: "quoted word is not a command", commands: []string{`echo "cd x && npm ci"`}, opt: root, want: nil},
		{name: "cd and npm ci", commands: []string{"cd /app && npm ci"}, opt: root, want: []string{"/root/.npm cache dapp/auto/npm shared"}},
		{name: "npm as user", commands: []string{"npm install"}, opt: app, want: []string{"/home/app/.npm cache dapp/auto/npm/uid-1000-gid-1000 shared 1000:1000"}},
		{name: "npm as user, unknown home", commands: []string{"npm install"}, opt: Opt{Auto: true, UID: 1000, GID: 1000}, want: nil},
		{name: "sudo npm is root", commands: []string{"sudo npm install -g pm2"}, opt: app, want: []string{"/root/.npm cache dapp/auto/npm shared"}},
		{name: "sudo -u other skips home caches", commands: []string{"sudo -u bob npm install"}, opt: root, want: nil},
		{name: "npm cache from env", commands: []string{"npm ci"}, opt: Opt{Auto: true, Env: []string{"npm_config_cache=/cache/npm"}}, want: []string{"/cache/npm cache dapp/auto/npm shared"}},
		{name: "yarn", commands: []string{"yarn install --frozen-lockfile"}, opt: root, want: []string{
			"/root/.cache/yarn cache dapp/auto/yarn/classic private",
			"/root/.yarn/berry/cache cache dapp/auto/yarn/berry shared",
		}},
		{name: "corepack pnpm", commands: []string{"corepack pnpm install"}, opt: root, want: []string{
			"/root/.local/share/pnpm/store cache dapp/auto/pnpm shared npm_config_store_dir=/root/.local/share/pnpm/store pnpm_config_store_dir=/root/.local/share/pnpm/store",
		}},
		{name: "pnpm with PNPM_HOME", commands: []string{"pnpm i"}, opt: Opt{Auto: true, Env: []string{"PNPM_HOME=/pnpm"}}, want: []string{
			"/pnpm/store cache dapp/auto/pnpm shared npm_config_store_dir=/pnpm/store pnpm_config_store_dir=/pnpm/store",
		}},
		{name: "pip3", commands: []string{"pip3 install -r requirements.txt"}, opt: Opt{Auto: true, Base: "python:3.12-slim"}, want: []string{"/root/.cache/pip cache dapp/auto/pip/base-python_3.12-slim shared"}},
		{name: "python -m pip", commands: []string{"python3.11 -m pip install flask"}, opt: root, want: []string{"/root/.cache/pip cache dapp/auto/pip/project-shop shared"}},
		{name: "python script is not pip", commands: []string{"python3 manage.py -m pip"}, opt: root, want: nil},
		{name: "pip cache off", commands: []string{"pip install x"}, opt: Opt{Auto: true, Env: []string{"PIP_NO_CACHE_DIR=1"}}, want: nil},
		{name: "go build in golang image", commands: []string{"go build -o /app ./cmd/app"}, opt: Opt{Auto: true, Env: []string{"GOPATH=/go", "PATH=/go/bin:/usr/local/go/bin"}}, want: []string{
			"/go/pkg/mod cache dapp/auto/go/mod shared",
			"/root/.cache/go-build cache dapp/auto/go/build shared",
		}},
		{name: "go with exported env", commands: []string{"export GOMODCACHE=$HOME/mods", "GOCACHE=/gc go test ./..."}, opt: Opt{Auto: true, Env: []string{"HOME=/root"}}, want: []string{
			"/gc cache dapp/auto/go/build shared",
			"/root/mods cache dapp/auto/go/mod shared",
		}},
		{name: "cargo in rust image", commands: []string{"cargo build --release"}, opt: Opt{Auto: true, Env: []string{"CARGO_HOME=/usr/local/cargo"}}, want: []string{
			"/usr/local/cargo/git cache dapp/auto/cargo/git private",
			"/usr/local/cargo/registry cache dapp/auto/cargo/registry private",
		}},
		{name: "gradlew", commands: []string{"./gradlew build -x test"}, opt: root, want: []string{
			"/root/.gradle/caches cache dapp/auto/gradle/caches private",
			"/root/.gradle/wrapper cache dapp/auto/gradle/wrapper private",
		}},
		{name: "mvnw", commands: []string{"./mvnw -B package"}, opt: root, want: []string{
			"/root/.m2/repository cache dapp/auto/maven/repository private",
			"/root/.m2/wrapper cache dapp/auto/maven/wrapper private",
		}},
		{name: "composer image", commands: []string{"composer install --no-dev"}, opt: Opt{Auto: true, Env: []string{"COMPOSER_HOME=/tmp"}}, want: []string{"/tmp/cache cache dapp/auto/composer shared"}},
		{name: "composer default", commands: []string{"composer install"}, opt: root, want: []string{
			"/root/.cache/composer cache dapp/auto/composer shared",
			"/root/.composer/cache cache dapp/auto/composer/home shared",
		}},
		{name: "bundler in ruby image", commands: []string{"bundle install --jobs 4"}, opt: Opt{Auto: true, Env: []string{"GEM_HOME=/usr/local/bundle"}}, want: []string{
			"/root/.bundle/cache cache dapp/auto/bundler private",
			"/usr/local/bundle/cache cache dapp/auto/gem private",
		}},
		{name: "apk", commands: []string{"apk add git"}, opt: root, want: []string{"/etc/apk/cache cache dapp/auto/apk private"}},
		{name: "dnf", commands: []string{"dnf -y install gcc && dnf clean all"}, opt: root, want: []string{
			"/var/cache/dnf cache dapp/auto/dnf/dnf private",
			"/var/cache/libdnf5 cache dapp/auto/dnf/libdnf5 private",
			"/var/cache/yum cache dapp/auto/dnf/yum private",
		}},
		{name: "ccache named in a word", commands: []string{`CC="ccache gcc" make -j4`, "cmake -DCMAKE_C_COMPILER_LAUNCHER=ccache .."}, opt: root, want: []string{"/root/.ccache cache dapp/auto/ccache shared"}},
		{name: "sh -c", commands: []string{`sh -ec 'cd /src; go mod download'`}, opt: Opt{Auto: true, Env: []string{"GOPATH=/go"}}, want: []string{
			"/go/pkg/mod cache dapp/auto/go/mod shared",
			"/root/.cache/go-build cache dapp/auto/go/build shared",
		}},
		{name: "wrappers", commands: []string{"timeout 300 nice -n 10 env -u FOO npm ci", "ls | xargs -r -n1 cargo fetch --manifest-path"}, opt: root, want: []string{
			"/root/.cargo/git cache dapp/auto/cargo/git private",
			"/root/.cargo/registry cache dapp/auto/cargo/registry private",
			"/root/.npm cache dapp/auto/npm shared",
		}},
		{name: "subshell, substitution and continuation", commands: []string{"(cd web && npm \\\n ci)", "echo $(yarn --version)"}, opt: root, want: []string{
			"/root/.cache/yarn cache dapp/auto/yarn/classic private",
			"/root/.npm cache dapp/auto/npm shared",
			"/root/.yarn/berry/cache cache dapp/auto/yarn/berry shared",
		}},
		{name: "comment", commands: []string{"true # npm install"}, opt: root, want: nil},
		{name: "if block", commands: []string{"if [ -f package.json ]; then npm ci; fi"}, opt: root, want: []string{"/root/.npm cache dapp/auto/npm shared"}},
		// bash syntax, parsed by mvdan.cc/sh
		{name: "heredoc body is not a command", commands: []string{"cat <<EOF > /etc/notes\nnpm install\nEOF"}, opt: root, want: nil},
		{name: "case arm", commands: []string{`case "$MODE" in prod) pip install -r r.txt;; *) true;; esac`}, opt: root, want: []string{"/root/.cache/pip cache dapp/auto/pip/project-shop shared"}},
		{name: "function body", commands: []string{"fetch() { cargo fetch; }; fetch"}, opt: Opt{Auto: true, Env: []string{"CARGO_HOME=/c"}}, want: []string{
			"/c/git cache dapp/auto/cargo/git private",
			"/c/registry cache dapp/auto/cargo/registry private",
		}},
		{name: "test clause and arithmetic for", commands: []string{"[[ -f package.json ]] && for ((i=0; i<2; i++)); do npm ci; done"}, opt: root, want: []string{"/root/.npm cache dapp/auto/npm shared"}},
		{name: "ansi-c quoting", commands: []string{"$'npm' ci"}, opt: root, want: []string{"/root/.npm cache dapp/auto/npm shared"}},
		{name: "default value expansion", commands: []string{"export npm_config_cache=${NPM_CACHE:-/cache/npm}", "npm ci"}, opt: root, want: []string{"/cache/npm cache dapp/auto/npm shared"}},
		{name: "double quotes expand", commands: []string{`npm_config_cache="$HOME/x y" npm ci`}, opt: root, want: []string{"/root/x y cache dapp/auto/npm shared"}},
		{name: "pipeline and background", commands: []string{"yes | apk add git & wait"}, opt: root, want: []string{"/etc/apk/cache cache dapp/auto/apk private"}},
		{name: "not bash detects nothing", commands: []string{"npm ci; if"}, opt: root, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, summary(Detect(tc.commands, tc.opt)))
		})
	}
}

func TestDetectDeterministic(t *testing.T) {
	t.Parallel()
	cmds := []string{"apt-get update && apt-get install -y g++ ccache", "npm ci", "pip install -r r.txt", "go build ./...", "cargo build"}
	opt := Opt{Auto: true, Env: []string{"GOPATH=/go"}}
	first := summary(Detect(cmds, opt))
	for range 25 {
		require.Equal(t, first, summary(Detect(cmds, opt)))
	}
}

// TestAptFileMounts pins what the apt file mounts hold: an empty
// docker-clean and the keep-cache configuration.
func TestAptFileMounts(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, m := range Detect([]string{"apt-get update", "apt-get install -y curl"}, Opt{Auto: true}) {
		if m.Type == File {
			got[m.Target] = string(m.Content)
		}
	}
	require.Equal(t, map[string]string{aptDockerClean: "", aptKeepCacheFile: aptKeepCache}, got)
	require.Contains(t, aptKeepCache, `Binary::apt::APT::Keep-Downloaded-Packages "true";`)
}
