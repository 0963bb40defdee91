//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/frontend"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/stretchr/testify/require"
)

// checkNoToolchain: nothing of the toolchain, the generated playbook or
// ansible's temporary files is in any layer of img, not even an empty
// mount point, and no apt download or package list either.
func checkNoToolchain(t *testing.T, img *OCIImage) {
	t.Helper()
	for i, l := range img.Layers {
		for _, p := range l.Paths() {
			switch {
			case p == "/.dapp" || strings.HasPrefix(p, "/.dapp/") || strings.HasPrefix(p, "/.wh..dapp"):
				t.Errorf("layer %d holds %s", i, p)
			case strings.Contains(p, "/.ansible") || strings.Contains(p, "ansible_collections") ||
				strings.HasPrefix(p, "/usr/lib/python3/dist-packages/ansible"):
				t.Errorf("layer %d holds ansible's files: %s", i, p)
			case strings.HasPrefix(p, "/var/cache/apt/") && strings.HasSuffix(p, ".deb"):
				t.Errorf("layer %d holds a downloaded package: %s", i, p)
			case strings.HasPrefix(p, "/var/lib/apt/lists/") && !strings.HasSuffix(p, "/lists/partial") && !strings.HasSuffix(p, "/lists/lock"):
				t.Errorf("layer %d holds an apt package list: %s", i, p)
			}
		}
	}
}

// TestExampleAnsible builds examples/ansible (Debian; apt, group, user,
// file, copy, lineinfile, shell, command tasks) three times: the result has
// what the tasks made and nothing of ansible; an unchanged rebuild is fully
// cached; a new install task content (APP_VERSION) reruns install and
// setup only.
func TestExampleAnsible(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	n := nonce(t)
	opt := func(version string) map[string]string {
		return map[string]string{"build-arg:APP_VERSION": n + "-" + version}
	}
	img, prog := solveOCI(t, c, inProcessOpt(t, example("ansible"), opt("1")), frontend.Build)
	t.Logf("beforeInstall:\n%s", prog.Log(t, "[app] beforeInstall"))
	require.True(t, img.File(t, "/usr/bin/hello").IsRegular(), "apt installed hello")
	requireFile(t, img, "/etc/app/app.conf", 0o644, 0, "greeting=hello\nport=8080\n")
	requireFile(t, img, "/etc/app/banner", 0o644, 0, "BUILT BY ANSIBLE\n")
	requireFile(t, img, "/home/app/version", 0o644, 1500, n+"-1\n")
	requireFile(t, img, "/etc/app/greeting", 0o644, 0, "ansible\n")
	require.Regexp(t, `(?m)^app:x:1500:1500::/home/app:/bin/bash$`, string(img.File(t, "/etc/passwd").Content))
	require.Regexp(t, `(?m)^app:x:1500:$`, string(img.File(t, "/etc/group").Content))
	require.Equal(t, "app", img.Config.Config.User)
	require.Contains(t, prog.Log(t, "[app] install"), "TASK [version file]", "ansible's progress output reaches the build log")
	checkNoToolchain(t, img)
	for _, e := range img.Config.Config.Env {
		require.NotContains(t, e, ".dapp", "the image config names nothing of the toolchain")
	}

	img2, prog2 := solveOCI(t, c, inProcessOpt(t, example("ansible"), opt("1")), frontend.Build)
	for _, s := range []string{"[app] beforeInstall", "[app] install", "[app] setup"} {
		require.True(t, prog2.Cached(t, s), "unchanged rebuild: %s cached", s)
	}
	require.Equal(t, img.DiffIDs(), img2.DiffIDs())

	img3, prog3 := solveOCI(t, c, inProcessOpt(t, example("ansible"), opt("2")), frontend.Build)
	require.True(t, prog3.Cached(t, "[app] beforeInstall"), "beforeInstall is untouched")
	require.True(t, prog3.Ran(t, "[app] install"), "an edited install task reruns install")
	require.True(t, prog3.Ran(t, "[app] setup"), "and the stages after it")
	requireFile(t, img3, "/home/app/version", 0o644, 1500, n+"-2\n")
	require.Equal(t, img.DiffIDs()[:len(img.DiffIDs())-2], img3.DiffIDs()[:len(img3.DiffIDs())-2])
}

// anyBaseDappfile runs shell and ansible stages on bases without bash:
// busybox (ash, no python), Debian (dash) and scratch (no shell, no libc,
// nothing). Each artifact leaves a file; app imports them all.
const anyBaseDappfile = `
artifact: bb-ansible
from: busybox:latest
ansible:
  buildArtifact:
  - file: {path: /out, state: directory, mode: "0755"}
  - copy: {dest: /out/copied, content: "copied on busybox\n"}
  - shell: echo "shell task on busybox" > /out/shell
  buildArtifactCacheVersion: "{{ env "RUN" }}"
---
artifact: bb-bash
from: busybox:latest
shell:
  buildArtifact:
  - set -o pipefail
  - words=(bash on busybox)
  - '[[ ${#words[@]} -eq 3 ]] && mkdir -p /out && echo "${words[*]}" | tr a-z A-Z > /out/bash'
  buildArtifactCacheVersion: "{{ env "RUN" }}"
---
artifact: deb-bash
from: debian:bookworm
shell:
  buildArtifact:
  - set -o pipefail
  - declare -A seen=([dash]=no [bash]=yes)
  - '[[ $(readlink -f /bin/sh) == */dash && ${seen[bash]} == yes ]] && mkdir -p /out && echo "bash over dash" > /out/bash'
  buildArtifactCacheVersion: "{{ env "RUN" }}"
---
artifact: scratch-shell
from: scratch
shell:
  buildArtifact:
  - words=(no shell here)
  - '[[ ${#words[@]} -eq 3 ]] && printf "%s\n" "${words[*]}" > /no-shell'
  buildArtifactCacheVersion: "{{ env "RUN" }}"
---
artifact: scratch-ansible
from: scratch
ansible:
  buildArtifact:
  - copy: {dest: /no-shell-ansible, content: "ansible on scratch\n"}
  buildArtifactCacheVersion: "{{ env "RUN" }}"
---
dimg: app
from: busybox:latest
import:
- {artifact: bb-ansible, add: /out, to: /bb-ansible, after: setup}
- {artifact: bb-bash, add: /out/bash, to: /bb-bash, after: setup}
- {artifact: deb-bash, add: /out/bash, to: /deb-bash, after: setup}
- {artifact: scratch-shell, add: /no-shell, to: /scratch-shell, after: setup}
- {artifact: scratch-ansible, add: /no-shell-ansible, to: /scratch-ansible, after: setup}
`

func TestStagesOnAnyBase(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": anyBaseDappfile})
	img, prog := solveOCI(t, newClient(t), inProcessOpt(t, dir, map[string]string{"build-arg:RUN": nonce(t)}), frontend.Build)
	t.Logf("busybox ansible:\n%s", prog.Log(t, "[bb-ansible] buildArtifact"))
	requireFile(t, img, "/bb-ansible/copied", 0o644, 0, "copied on busybox\n")
	requireFile(t, img, "/bb-ansible/shell", 0o644, 0, "shell task on busybox\n")
	requireFile(t, img, "/bb-bash", 0o644, 0, "BASH ON BUSYBOX\n")
	requireFile(t, img, "/deb-bash", 0o644, 0, "bash over dash\n")
	requireFile(t, img, "/scratch-shell", 0o644, 0, "no shell here\n")
	requireFile(t, img, "/scratch-ansible", 0o644, 0, "ansible on scratch\n")
	checkNoToolchain(t, img)
}

// TestShellImageOption: shell=image runs shell stages with the image's own
// /bin/sh, where bash syntax fails.
func TestShellImageOption(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nshell:\n  install:\n  - echo \"$0\" > /shell\n"})
	img, _ := solveOCI(t, newClient(t), inProcessOpt(t, dir, map[string]string{"shell": "image", "build-arg:N": nonce(t)}), frontend.Build)
	requireFile(t, img, "/shell", 0o644, 0, "/bin/sh\n")
	img, _ = solveOCI(t, newClient(t), inProcessOpt(t, dir, nil), frontend.Build)
	requireFile(t, img, "/shell", 0o644, 0, "/.dapp/deps/toolchain/usr/bin/bash\n")
	checkNoToolchain(t, img)
}

// TestAnsibleFailingTask: a failing task is named with its Dappfile lines,
// stage and image in the build log, and the error points at the stage.
func TestAnsibleFailingTask(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"Dappfile": "dimg: app\nfrom: busybox:latest\nansible:\n  install:\n" +
		"  - name: fine\n    command: 'true'\n" +
		"  - name: this one fails\n    command: /bin/false\n" +
		"  - name: never runs\n    command: 'true'\n"})
	_, prog, err := solve(t, newClient(t), inProcessOpt(t, dir, map[string]string{"build-arg:N": nonce(t)}), frontend.Build)
	require.Error(t, err)
	log := prog.Log(t, "[app] install")
	t.Logf("failed stage:\n%s", log)
	require.Contains(t, log, "TASK [this one fails]")
	require.Contains(t, log, `dapp-frontend: task "this one fails" (Dappfile:7-8) failed in stage install of dimg "app"`)
	require.NotContains(t, log, "TASK [never runs]")
	srcs := errdefs.Sources(err)
	require.NotEmpty(t, srcs, "the error carries the Dappfile location: %v", err)
	require.Equal(t, int32(5), srcs[0].Ranges[0].Start.Line)
}

// ansibleNpmDappfile installs node with the apt module and a package with
// the npm module; NPM_ENV is the npm task's environment (offline in the
// second build: npm may not touch the network).
const ansibleNpmDappfile = `
dimg: app
from: debian:bookworm
ansible:
  beforeInstall:
  - apt: {name: [nodejs, npm], install_recommends: no, update_cache: yes}
  installCacheVersion: "{{ env "RUN" }}"
  install:
  - name: is-number
    npm: {name: is-number, version: 7.0.0, path: /app}
    environment:
      NODE_EXTRA_CA_CERTS: /etc/ssl/certs/ca-certificates.crt
      {{ env "NPM_ENV" }}
  - name: npm log
    shell: grep -h "http fetch" "$(ls -t /root/.npm/_logs/*-debug-0.log | head -n 1)"
    register: npmlog
  - debug: {var: npmlog.stdout_lines}
`

// TestAnsibleNpmCache: the npm module gets the automatic npm cache: after
// a cacheVersion bump, install reruns with npm offline and every fetch is
// a cache hit; the cache is not in the image.
func TestAnsibleNpmCache(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	dir := writeTree(t, map[string]string{"Dappfile": ansibleNpmDappfile})
	run := nonce(t)
	opt := func(v, env string) map[string]string {
		return map[string]string{"build-arg:RUN": run + v, "build-arg:NPM_ENV": env}
	}
	_, prog1 := solveOCI(t, c, inProcessOpt(t, dir, opt("1", "")), frontend.Build)
	t.Logf("first install:\n%s", prog1.Log(t, "[app] install"))
	img, prog2 := solveOCI(t, c, inProcessOpt(t, dir, opt("2", "npm_config_offline: 'true'")), frontend.Build)
	require.True(t, prog2.Ran(t, "[app] install"))
	log := prog2.Log(t, "[app] install")
	t.Logf("second install:\n%s", log)
	fetches := regexp.MustCompile(`http fetch [^\n"]*`).FindAllString(log, -1)
	require.NotEmpty(t, fetches, "npm's log lists its fetches:\n%s", log)
	for _, f := range fetches {
		require.Regexp(t, `\(cache (hit|stale)\)$`, f, "npm used the network")
	}
	require.True(t, img.File(t, "/app/node_modules/is-number/package.json").IsRegular())
	for _, f := range img.Files(t) {
		require.False(t, strings.HasPrefix(f.Path, "/root/.npm"), "npm's cache is in the image: %s", f.Path)
	}
	checkNoToolchain(t, img)
}
