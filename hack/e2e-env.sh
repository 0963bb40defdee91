#!/usr/bin/env bash
# End-to-end test environment for dapp-frontend: a private buildkitd (runc
# worker) and a loopback registry that holds the base images the tests use.
# Nothing here talks to Docker Hub; everything lives in a state directory.
#
#   hack/e2e-env.sh tools                      install apt packages when missing, register
#                                              qemu's binfmt handlers (foreign-platform RUN
#                                              steps), build + cache buildkitd/buildctl/buildx
#   hack/e2e-env.sh up STATE_DIR               start buildkitd + registry, write STATE_DIR/env
#   hack/e2e-env.sh status STATE_DIR           exit 0 when the stack in STATE_DIR is running
#   hack/e2e-env.sh images STATE_DIR [debian]  push busybox:latest (linux/amd64 + linux/arm64)
#                                              (and debian:bookworm)
#   hack/e2e-env.sh frontend-image STATE_DIR   push the prebuilt frontend as dapp-frontend:dev
#   hack/e2e-env.sh toolchain-image STATE_DIR  build (once, cached by its inputs) and push the
#                                              toolchain image (toolchain/build.sh) as
#                                              dapp-toolchain:KEY and its shell toolchain
#                                              (toolchain/shell.sh) as dapp-toolchain:KEY2-shell;
#                                              adds DAPP_E2E_TOOLCHAIN_IMAGE and
#                                              DAPP_E2E_SHELL_TOOLCHAIN_IMAGE
#                                              (REF@DIGEST) to STATE_DIR/env
#   hack/e2e-env.sh dockerfile-frontend-image STATE_DIR
#                                              build (once, cached by the tools' go.mod/go.sum)
#                                              BuildKit's dockerfile-frontend at the pinned
#                                              version and push it as dockerfile-frontend:VERSION;
#                                              adds DAPP_E2E_DOCKERFILE_FRONTEND_IMAGE (REF@DIGEST)
#                                              to STATE_DIR/env (make bench uses it)
#   hack/e2e-env.sh down STATE_DIR [--purge]   stop what `up` started (by pid); --purge
#                                              also removes STATE_DIR
#
# STATE_DIR/env is a shell file (KEY=value lines) meant for `set -a; . STATE_DIR/env`:
#   BUILDKIT_HOST, DAPP_E2E_REGISTRY, DAPP_E2E_BIN_DIR, DAPP_E2E_STATE_DIR,
#   BUILDKITD_PID, REGISTRY_PID, DAPP_E2E_TOOLCHAIN_IMAGE and
#   DAPP_E2E_SHELL_TOOLCHAIN_IMAGE (after toolchain-image),
#   DAPP_E2E_DOCKERFILE_FRONTEND_IMAGE (after dockerfile-frontend-image)
#
# Environment knobs: DAPP_E2E_CACHE (default <repo>/.cache), DAPP_E2E_BIN_CACHE
# (tools dir, default $DAPP_E2E_CACHE/bin), DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${DAPP_E2E_CACHE:-$ROOT/.cache}
# tools cache; CI points this outside the clone so runs on one machine share it
BIN_DIR=${DAPP_E2E_BIN_CACHE:-$CACHE_DIR/bin}
TOOLS_MOD_DIR=$ROOT/hack/tools
APT_PACKAGES=(runc docker-registry busybox-static debootstrap ca-certificates util-linux tar openssh-client patchelf
	qemu-user-static binfmt-support)
# busybox:latest is pushed for these platforms; the machine's own comes from
# busybox-static, the others from Debian's package for that architecture
BUSYBOX_ARCHES=(amd64 arm64)
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[e2e-env] %s\n' "$*" >&2; }
die() { printf '[e2e-env] error: %s\n' "$*" >&2; exit 1; }

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
	exit 2
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "need root for: $*"
	fi
}

abspath() { realpath -m "$1"; }

# ---------------------------------------------------------------- tools

tools_key() {
	cat "$TOOLS_MOD_DIR/go.mod" "$TOOLS_MOD_DIR/go.sum" | sha256sum | cut -c1-16
}

tools_cached() {
	local key=$1 b
	[ -f "$BIN_DIR/.tools-key" ] && [ "$(cat "$BIN_DIR/.tools-key")" = "$key" ] || return 1
	for b in buildkitd buildctl buildx; do [ -x "$BIN_DIR/$b" ] || return 1; done
}

install_apt_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "apt packages present: ${APT_PACKAGES[*]}"
		return
	fi
	log "installing apt packages: ${missing[*]}"
	# docker-registry ships a service; keep apt from starting it (we run our
	# own registries) when the machine has no policy of its own
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
		as_root chmod 755 "$policy"
		made_policy=1
	fi
	local rc=0
	as_root apt-get update -qq || rc=$?
	[ $rc -ne 0 ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -z "$made_policy" ] || as_root rm -f "$policy"
	[ $rc -eq 0 ] || die "apt-get failed (exit $rc)"
}

build_tools() {
	mkdir -p "$BIN_DIR"
	local key
	key=$(tools_key)
	if tools_cached "$key"; then
		log "tools cached in $BIN_DIR (key $key)"
		return
	fi
	# One builder at a time per cache dir; a parallel run waits and then reuses.
	exec 9>"$BIN_DIR/.lock"
	flock 9
	if tools_cached "$key"; then
		log "tools cached in $BIN_DIR (key $key)"
		exec 9>&-
		return
	fi
	local bkver bxver tmp start
	bkver=$(cd "$TOOLS_MOD_DIR" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
	bxver=$(cd "$TOOLS_MOD_DIR" && go list -m -f '{{.Version}}' github.com/docker/buildx)
	tmp=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
	start=$(date +%s)
	log "building buildkitd/buildctl $bkver and buildx $bxver (takes minutes on a cold Go cache)"
	(cd "$TOOLS_MOD_DIR" && go build \
		-ldflags "-X github.com/moby/buildkit/version.Version=$bkver -X github.com/docker/buildx/version.Version=$bxver" \
		-o "$tmp/" \
		github.com/moby/buildkit/cmd/buildkitd \
		github.com/moby/buildkit/cmd/buildctl \
		github.com/docker/buildx/cmd/buildx) || { rm -rf "$tmp"; die "tools build failed"; }
	local b
	for b in buildkitd buildctl buildx; do mv -f "$tmp/$b" "$BIN_DIR/$b"; done
	rm -rf "$tmp"
	echo "$key" >"$BIN_DIR/.tools-key"
	exec 9>&-
	log "tools built in $(($(date +%s) - start))s into $BIN_DIR"
}

# enable_binfmt registers qemu-user-static's handlers for the foreign
# architectures of BUSYBOX_ARCHES, so buildkitd (which probes what it can
# run when it starts) builds RUN steps for them under emulation. A machine
# where the kernel refuses (no binfmt_misc, an unprivileged container)
# only warns: the e2e tests that need emulation skip and say why.
enable_binfmt() {
	local bm=/proc/sys/fs/binfmt_misc native arch qarch
	if [ ! -e "$bm/register" ]; then
		as_root mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null ||
			{ log "warning: cannot mount binfmt_misc on $bm: no emulation of foreign platforms (TestMultiPlatformEmulated skips)"; return 0; }
	fi
	native=$(dpkg --print-architecture)
	for arch in "${BUSYBOX_ARCHES[@]}"; do
		[ "$arch" != "$native" ] || continue
		case $arch in
		amd64) qarch=x86_64 ;;
		arm64) qarch=aarch64 ;;
		*) qarch=$arch ;;
		esac
		if [ -e "$bm/qemu-$qarch" ] && grep -qx enabled "$bm/qemu-$qarch"; then
			log "binfmt handler qemu-$qarch enabled"
			continue
		fi
		if as_root update-binfmts --enable "qemu-$qarch" >/dev/null 2>&1 && [ -e "$bm/qemu-$qarch" ]; then
			log "binfmt handler qemu-$qarch registered"
		else
			log "warning: cannot register the binfmt handler qemu-$qarch: no emulation of linux/$arch (TestMultiPlatformEmulated skips)"
		fi
	done
}

cmd_tools() {
	command -v go >/dev/null 2>&1 || die "go is not installed"
	install_apt_packages
	enable_binfmt
	build_tools
}

need_tools() {
	local b
	for b in buildkitd buildctl; do
		[ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: run '$0 tools' first"
	done
}

# ---------------------------------------------------------------- processes

# starttime of a pid (field 22 of /proc/PID/stat), to tell our process from a
# recycled pid.
proc_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

# record NAME PID: STATE/NAME.pid holds "PID STARTTIME".
record_pid() {
	echo "$2 $(proc_starttime "$2")" >"$STATE/$1.pid"
}

# ours NAME -> prints the pid if the recorded process is still the one we started.
ours() {
	local f=$STATE/$1.pid pid st now
	[ -f "$f" ] || return 1
	read -r pid st <"$f" || return 1
	now=$(proc_starttime "$pid") || return 1
	[ "$now" = "$st" ] || return 1
	echo "$pid"
}

stop_pid() { # NAME
	local pid i
	pid=$(ours "$1") || { rm -f "$STATE/$1.pid"; return 0; }
	log "stopping $1 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		ours "$1" >/dev/null || break
		sleep 0.2
	done
	if pid=$(ours "$1"); then
		log "$1 (pid $pid) ignored SIGTERM for 20s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$STATE/$1.pid"
}

# ---------------------------------------------------------------- up

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_status HOSTPORT PATH -> prints the HTTP status code (bash only, no curl).
http_status() {
	local line
	exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3
	read -r -t 5 line <&3 || { exec 3>&-; return 1; }
	exec 3>&-
	set -- $line
	echo "${2:-}"
}

start_registry() {
	local try port
	mkdir -p "$STATE/registry-data"
	for try in $(seq 1 20); do
		port=$((20000 + RANDOM % 40000))
		port_in_use "$port" && continue
		cat >"$STATE/registry.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $STATE/registry-data
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
		EOF
		docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 &
		record_pid registry $!
		local i
		for i in $(seq 1 75); do
			ours registry >/dev/null || break
			if [ "$(http_status "127.0.0.1:$port" /v2/ 2>/dev/null)" = 200 ]; then
				REGISTRY=127.0.0.1:$port
				log "registry up on $REGISTRY (pid $(ours registry))"
				return 0
			fi
			sleep 0.2
		done
		if ours registry >/dev/null; then
			tail -n 20 "$STATE/registry.log" >&2
			stop_pid registry
			die "registry did not answer on 127.0.0.1:$port"
		fi
		log "registry could not use port $port, retrying: $(tail -n 1 "$STATE/registry.log")"
		rm -f "$STATE/registry.pid"
	done
	die "could not start the registry on a free port"
}

start_buildkitd() {
	local sockdir=$STATE
	# unix socket paths are limited to ~107 bytes
	if [ $((${#STATE} + 16)) -gt 100 ]; then
		sockdir=$(mktemp -d /tmp/dapp-e2e.XXXXXX)
		echo "$sockdir" >"$STATE/sockdir"
	fi
	SOCK=$sockdir/buildkitd.sock
	rm -f "$SOCK"
	mkdir -p "$STATE/root"
	cat >"$STATE/buildkitd.toml" <<-EOF
	# generated by hack/e2e-env.sh
	[worker.oci]
	  enabled = true
	  gc = true
	  reservedSpace = "1GB"
	  maxUsedSpace = "20GB"
	[worker.containerd]
	  enabled = false
	[registry."$REGISTRY"]
	  http = true
	  insecure = true
	EOF
	"$BIN_DIR/buildkitd" \
		--config "$STATE/buildkitd.toml" \
		--oci-worker=true --containerd-worker=false \
		--root "$STATE/root" \
		--addr "unix://$SOCK" \
		>"$STATE/buildkitd.log" 2>&1 &
	record_pid buildkitd $!
	local i
	for i in $(seq 1 150); do
		ours buildkitd >/dev/null || { tail -n 30 "$STATE/buildkitd.log" >&2; die "buildkitd exited"; }
		if [ -S "$SOCK" ] && "$BIN_DIR/buildctl" --addr "unix://$SOCK" debug workers >/dev/null 2>&1; then
			log "buildkitd up on unix://$SOCK (pid $(ours buildkitd)); platforms it runs:" \
				"$("$BIN_DIR/buildctl" --addr "unix://$SOCK" debug workers -v 2>/dev/null | awk -F'\t' '/^Platforms:/ { print $2; exit }')"
			return 0
		fi
		sleep 0.2
	done
	tail -n 30 "$STATE/buildkitd.log" >&2
	die "buildkitd did not answer within 30s"
}

write_env() {
	{
		printf 'BUILDKIT_HOST=%q\n' "unix://$SOCK"
		printf 'DAPP_E2E_REGISTRY=%q\n' "$REGISTRY"
		printf 'DAPP_E2E_BIN_DIR=%q\n' "$BIN_DIR"
		printf 'DAPP_E2E_STATE_DIR=%q\n' "$STATE"
		printf 'BUILDKITD_PID=%q\n' "$(ours buildkitd)"
		printf 'REGISTRY_PID=%q\n' "$(ours registry)"
	} >"$STATE/env.tmp"
	mv "$STATE/env.tmp" "$STATE/env"
}

is_up() {
	[ -f "$STATE/env" ] && ours buildkitd >/dev/null && ours registry >/dev/null
}

cmd_up() {
	need_tools
	command -v docker-registry >/dev/null 2>&1 || die "docker-registry missing: run '$0 tools' first"
	command -v runc >/dev/null 2>&1 || die "runc missing: run '$0 tools' first"
	if is_up; then
		die "a stack is already running in $STATE (stop it with '$0 down $STATE')"
	fi
	# leftovers of a stack that died: stop what is still ours, drop runtime files
	stop_pid buildkitd
	stop_pid registry
	rm -f "$STATE/env"
	mkdir -p "$STATE"
	trap 'rc=$?; if [ $rc -ne 0 ]; then log "up failed, stopping what it started"; stop_pid buildkitd; stop_pid registry; fi' EXIT
	start_registry
	start_buildkitd
	write_env
	trap - EXIT
	log "stack up; env in $STATE/env"
	cat "$STATE/env"
}

cmd_status() {
	if is_up; then
		cat "$STATE/env"
		return 0
	fi
	log "no running stack in $STATE"
	return 1
}

# ---------------------------------------------------------------- down

cmd_down() {
	local purge=${1:-}
	stop_pid buildkitd
	stop_pid registry
	# buildkitd unmounts its snapshots on exit; catch anything left behind
	local m
	if [ -d "$STATE/root" ]; then
		awk -v p="$STATE/root/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
	fi
	if [ -f "$STATE/sockdir" ]; then
		rm -rf "$(cat "$STATE/sockdir")"
		rm -f "$STATE/sockdir"
	fi
	rm -f "$STATE/env" "$STATE/buildkitd.sock"
	if [ "$purge" = --purge ]; then
		rm -rf "$STATE"
		log "stack in $STATE stopped and removed"
	else
		log "stack in $STATE stopped (data kept; '--purge' removes it)"
	fi
}

# ---------------------------------------------------------------- images

load_env() {
	[ -f "$STATE/env" ] || die "no $STATE/env: run '$0 up $STATE' first"
	# shellcheck disable=SC1091
	. "$STATE/env"
	is_up || die "the stack in $STATE is not running"
	need_tools
}

buildctl() { "$BIN_DIR/buildctl" --addr "$BUILDKIT_HOST" "$@"; }

# push_dockerfile NAME CONTEXT_DIR [buildctl args...]
push_dockerfile() {
	local name=$1 dir=$2
	shift 2
	log "building $DAPP_E2E_REGISTRY/$name"
	buildctl build --progress=plain \
		--frontend dockerfile.v0 \
		--local context="$dir" --local dockerfile="$dir" \
		--output "type=image,name=$DAPP_E2E_REGISTRY/$name,push=true,registry.insecure=true" \
		"$@" 2>"$STATE/build-${name//[:\/]/_}.log" ||
		{ tail -n 40 "$STATE/build-${name//[:\/]/_}.log" >&2; die "building $name failed"; }
	log "pushed $DAPP_E2E_REGISTRY/$name"
}

host_ca_bundle() {
	[ -f /etc/ssl/certs/ca-certificates.crt ] || die "host CA bundle /etc/ssl/certs/ca-certificates.crt missing"
	echo /etc/ssl/certs/ca-certificates.crt
}

# busybox_deb ARCH -> prints the path of Debian's busybox-static package
# for ARCH, downloaded once into the cache (keyed by suite and
# architecture, as the Debian rootfs is) with a private apt state: the
# machine's own apt configuration and architectures stay as they are.
busybox_deb() {
	local arch=$1 dir=$CACHE_DIR/busybox deb work
	deb=$dir/busybox-static-bookworm-$arch.deb
	if [ -s "$deb" ]; then
		echo "$deb"
		return
	fi
	mkdir -p "$dir"
	work=$(mktemp -d "$dir/.apt.XXXXXX")
	mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/dl"
	: >"$work/status"
	echo "deb [arch=$arch] $DEBIAN_MIRROR bookworm main" >"$work/sources.list"
	local o=(-q -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
		-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::State::status=$work/status"
		-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o "Acquire::Languages=none")
	log "downloading busybox-static for $arch from $DEBIAN_MIRROR (once)"
	if ! as_root apt-get "${o[@]}" update >"$work/apt.log" 2>&1 ||
		! (cd "$work/dl" && as_root apt-get "${o[@]}" download "busybox-static:$arch" >>"$work/apt.log" 2>&1); then
		tail -n 20 "$work/apt.log" >&2
		rm -rf "$work"
		die "cannot download busybox-static for $arch"
	fi
	mv "$work"/dl/busybox-static_*_"$arch".deb "$deb"
	rm -rf "$work"
	echo "$deb"
}

# elf_machine FILE -> the ELF e_machine of FILE (62 x86-64, 183 aarch64)
elf_machine() { od -An -t u2 -j 18 -N 2 "$1" | tr -d ' '; }

image_busybox() {
	local dir=$STATE/images/busybox bb native arch platforms=() r
	rm -rf "$dir"
	mkdir -p "$dir"
	# the statically linked busybox of the busybox-static package
	bb=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || true)
	[ -n "$bb" ] && [ -x "$bb" ] || die "busybox-static not installed: run '$0 tools' first"
	"$bb" --list >/dev/null 2>&1 || die "$bb does not run"
	native=$(dpkg --print-architecture)
	for arch in "${BUSYBOX_ARCHES[@]}"; do
		mkdir -p "$dir/$arch"
		if [ "$arch" = "$native" ]; then
			cp "$bb" "$dir/$arch/busybox"
		else
			mkdir -p "$dir/$arch/deb"
			dpkg-deb -x "$(busybox_deb "$arch")" "$dir/$arch/deb"
			mv "$dir/$arch/deb/bin/busybox" "$dir/$arch/busybox"
			rm -rf "$dir/$arch/deb"
		fi
		case $arch:$(elf_machine "$dir/$arch/busybox") in
		amd64:62 | arm64:183) ;;
		*) die "busybox for $arch is not a $arch binary (ELF machine $(elf_machine "$dir/$arch/busybox"))" ;;
		esac
		platforms+=("linux/$arch")
	done
	# The image is put together here, not by RUN steps, so that each
	# platform's image builds without running its binaries: the applet
	# links are the ones `busybox --install -s /bin` makes.
	r=$dir/etc-root
	mkdir -p "$r/etc/ssl/certs"
	cp "$(host_ca_bundle)" "$r/etc/ssl/certs/ca-certificates.crt"
	cat >"$r/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/bin/sh
	app:x:1000:1000:app:/home/app:/bin/sh
	nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
	root:x:0:
	app:x:1000:
	nogroup:x:65534:
	EOF
	r=$dir/links-root
	mkdir -p "$r/bin"
	local applet
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -s /bin/busybox "$r/bin/$applet"
	done
	r=$dir/dirs-root
	mkdir -p "$r/tmp" "$r/root" "$r/home" "$r/usr/bin" "$r/usr/sbin" "$r/sbin" "$r/var/tmp" "$dir/home-root/app"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 700 "$r/root"
	local t
	for t in etc links dirs; do
		tar --numeric-owner --owner=0 --group=0 -C "$dir/$t-root" -cf "$dir/$t.tar" .
	done
	# /home/app belongs to the app user: a tar of its own with that owner
	tar --numeric-owner --owner=1000 --group=1000 -C "$dir/home-root" -cf "$dir/home.tar" ./app
	cat >"$dir/Dockerfile" <<-'EOF'
	FROM scratch
	ARG TARGETARCH
	COPY ${TARGETARCH}/busybox /bin/busybox
	ADD etc.tar /
	ADD links.tar /
	ADD dirs.tar /
	ADD home.tar /home/
	ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	CMD ["sh"]
	EOF
	push_dockerfile busybox:latest "$dir" --opt platform="$(IFS=,; echo "${platforms[*]}")"
}

debian_rootfs_tar() { # -> prints the cached tar path, debootstraps when missing
	local tar=$CACHE_DIR/debian/bookworm-minbase.tar
	if [ -s "$tar" ]; then
		log "debian rootfs cached: $tar"
		echo "$tar"
		return
	fi
	command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing: run '$0 tools' first"
	mkdir -p "$CACHE_DIR/debian"
	local work start
	work=$(mktemp -d "$CACHE_DIR/debian/.work.XXXXXX")
	start=$(date +%s)
	# debootstrap mounts proc/sys inside the target; never leave them mounted
	# shellcheck disable=SC2064
	trap "awk -v p='$work/' 'index(\$5, p) == 1 { print \$5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l; rm -rf '$work'" EXIT
	log "debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (a few minutes)"
	as_root debootstrap --variant=minbase bookworm "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$work/debootstrap.log" >&2; [ -f "$work/rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$work/rootfs/debootstrap/debootstrap.log" >&2; die "debootstrap failed"; }
	local r=$work/rootfs
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/tmp/* "$r"/var/tmp/*
	: >"$r/etc/resolv.conf"
	echo localhost >"$r/etc/hostname"
	tar --numeric-owner --xattrs -C "$r" \
		--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
		-cf "$work/rootfs.tar" .
	mv "$work/rootfs.tar" "$tar"
	log "debootstrap took $(($(date +%s) - start))s; cached $tar ($(du -h "$tar" | cut -f1))"
	echo "$tar"
}

image_debian() {
	local dir=$STATE/images/debian tar
	tar=$(debian_rootfs_tar)
	rm -rf "$dir"
	mkdir -p "$dir/certs" "$dir/local-ca"
	ln "$tar" "$dir/rootfs.tar" 2>/dev/null || cp "$tar" "$dir/rootfs.tar"
	cp "$(host_ca_bundle)" "$dir/certs/ca-certificates.crt"
	if [ -d /usr/local/share/ca-certificates ]; then
		cp -a /usr/local/share/ca-certificates/. "$dir/local-ca/"
	fi
	cat >"$dir/Dockerfile" <<-'EOF'
	FROM scratch
	ADD rootfs.tar /
	# The machine's HTTPS goes through a proxy whose CA only the host trusts:
	# give the image the host's bundle and the local CAs (update-ca-certificates
	# keeps them when a build installs the ca-certificates package).
	COPY certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
	COPY local-ca/ /usr/local/share/ca-certificates/
	ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	CMD ["bash"]
	EOF
	push_dockerfile debian:bookworm "$dir"
}

cmd_images() {
	load_env
	image_busybox
	local extra
	for extra in "$@"; do
		case $extra in
		debian) image_debian ;;
		*) die "unknown image set: $extra (known: debian)" ;;
		esac
	done
}

# ---------------------------------------------------------------- frontend image

cmd_frontend_image() {
	load_env
	local goos goarch
	goos=$(go env GOOS)
	goarch=$(go env GOARCH)
	[ -x "$ROOT/bin/${goos}_${goarch}/dapp-frontend" ] ||
		die "bin/${goos}_${goarch}/dapp-frontend missing: run 'make build' first"
	log "building $DAPP_E2E_REGISTRY/dapp-frontend:dev (Dockerfile.frontend, target prebuilt)"
	buildctl build --progress=plain \
		--frontend dockerfile.v0 \
		--local context="$ROOT" --local dockerfile="$ROOT" \
		--opt filename=Dockerfile.frontend --opt target=prebuilt \
		--output "type=image,name=$DAPP_E2E_REGISTRY/dapp-frontend:dev,push=true,registry.insecure=true" \
		2>"$STATE/build-dapp-frontend.log" ||
		{ tail -n 40 "$STATE/build-dapp-frontend.log" >&2; die "building the frontend image failed"; }
	log "pushed $DAPP_E2E_REGISTRY/dapp-frontend:dev"
}

# ---------------------------------------------------------------- toolchain image

# toolchain_key: the toolchain's inputs (its build script, the pinned
# packages, the base rootfs it starts from).
toolchain_key() {
	local base=$1
	{
		cat "$ROOT/toolchain/build.sh" "$ROOT/toolchain/packages.txt"
		stat -c '%s %Y' "$base"
	} | sha256sum | cut -c1-16
}

cmd_toolchain_image() {
	load_env
	local base key tar dir start
	base=$(debian_rootfs_tar)
	key=$(toolchain_key "$base")
	tar=$CACHE_DIR/toolchain/toolchain-$key.tar
	mkdir -p "$CACHE_DIR/toolchain"
	if [ ! -s "$tar" ]; then
		# one builder per cache dir; a parallel run waits and reuses
		exec 8>"$CACHE_DIR/toolchain/.lock"
		flock 8
		if [ ! -s "$tar" ]; then
			start=$(date +%s)
			log "building the toolchain (key $key; takes a few minutes once)"
			as_root "$ROOT/toolchain/build.sh" "$base" "$tar"
			log "toolchain built in $(($(date +%s) - start))s: $tar"
		fi
		exec 8>&-
	else
		log "toolchain cached: $tar"
	fi
	dir=$STATE/images/toolchain
	rm -rf "$dir"
	mkdir -p "$dir"
	ln "$tar" "$dir/toolchain.tar" 2>/dev/null || cp "$tar" "$dir/toolchain.tar"
	cat >"$dir/Dockerfile" <<-'EOF'
	FROM scratch
	ADD toolchain.tar /
	EOF
	push_pinned DAPP_E2E_TOOLCHAIN_IMAGE "dapp-toolchain:$key" "$dir"

	# the shell toolchain: bash alone, cut out of the toolchain
	# (toolchain/shell.sh), keyed by both
	local skey star sdir
	skey=$(cat <(echo "$key") "$ROOT/toolchain/shell.sh" | sha256sum | cut -c1-16)
	star=$CACHE_DIR/toolchain/toolchain-shell-$skey.tar
	if [ ! -s "$star" ]; then
		exec 8>"$CACHE_DIR/toolchain/.lock"
		flock 8
		[ -s "$star" ] || "$ROOT/toolchain/shell.sh" "$tar" "$star"
		exec 8>&-
	fi
	sdir=$STATE/images/toolchain-shell
	rm -rf "$sdir"
	mkdir -p "$sdir"
	ln "$star" "$sdir/toolchain.tar" 2>/dev/null || cp "$star" "$sdir/toolchain.tar"
	cp "$dir/Dockerfile" "$sdir/Dockerfile"
	push_pinned DAPP_E2E_SHELL_TOOLCHAIN_IMAGE "dapp-toolchain:$skey-shell" "$sdir"
}

# push_pinned ENV_KEY NAME DIR: push DIR/Dockerfile's image as NAME and
# record its REF@DIGEST in STATE/env as ENV_KEY.
push_pinned() {
	local digest
	push_dockerfile "$2" "$3" --metadata-file "$3/metadata.json"
	digest=$(metadata_digest "$3/metadata.json")
	set_env "$1" "$DAPP_E2E_REGISTRY/$2@$digest"
	log "$1=$DAPP_E2E_REGISTRY/$2@$digest"
}

# set_env KEY VALUE: replace KEY's line in STATE/env.
set_env() {
	grep -v "^$1=" "$STATE/env" >"$STATE/env.tmp" || true
	printf '%s=%q\n' "$1" "$2" >>"$STATE/env.tmp"
	mv "$STATE/env.tmp" "$STATE/env"
}

# metadata_digest FILE: the image digest in a buildctl --metadata-file.
metadata_digest() {
	local digest
	digest=$(sed -n 's/.*"containerimage.digest": *"\([^"]*\)".*/\1/p' "$1")
	[ -n "$digest" ] || die "no image digest in $1"
	echo "$digest"
}

# ---------------------------------------------------------------- dockerfile frontend image

# The Dockerfile frontend as an image, as `# syntax=docker/dockerfile` users
# run it: BuildKit's own frontend/dockerfile/cmd/dockerfile-frontend at the
# version hack/tools pins, built like the other tools (cached in BIN_DIR,
# keyed by the tools' go.mod and go.sum) and packaged like BuildKit's
# release image (FROM scratch, its labels, /bin/dockerfile-frontend).
build_dockerfile_frontend() {
	local key bkver dfver tmp start
	key=$(tools_key)
	mkdir -p "$BIN_DIR"
	if [ -x "$BIN_DIR/dockerfile-frontend" ] && [ "$(cat "$BIN_DIR/.dockerfile-frontend-key" 2>/dev/null)" = "$key" ]; then
		log "dockerfile-frontend cached in $BIN_DIR (key $key)"
		return
	fi
	exec 7>"$BIN_DIR/.dockerfile-frontend.lock"
	flock 7
	if [ -x "$BIN_DIR/dockerfile-frontend" ] && [ "$(cat "$BIN_DIR/.dockerfile-frontend-key" 2>/dev/null)" = "$key" ]; then
		exec 7>&-
		return
	fi
	bkver=$(cd "$TOOLS_MOD_DIR" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
	dfver=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$(cd "$TOOLS_MOD_DIR" && go list -m -f '{{.Dir}}' github.com/moby/buildkit)/frontend/dockerfile/version/version.go")
	tmp=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
	start=$(date +%s)
	log "building dockerfile-frontend $dfver (BuildKit $bkver)"
	# the flags of BuildKit's own build (mainline channel: no extra tags)
	(cd "$TOOLS_MOD_DIR" && CGO_ENABLED=0 go build -trimpath \
		-tags 'netgo static_build osusergo' \
		-ldflags "-s -w -X main.Version=dockerfile/$dfver -X main.Revision=buildkit-$bkver" \
		-o "$tmp/dockerfile-frontend" \
		github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend) ||
		{ rm -rf "$tmp"; die "dockerfile-frontend build failed"; }
	mv -f "$tmp/dockerfile-frontend" "$BIN_DIR/dockerfile-frontend"
	rm -rf "$tmp"
	echo "$key" >"$BIN_DIR/.dockerfile-frontend-key"
	exec 7>&-
	log "dockerfile-frontend built in $(($(date +%s) - start))s"
}

cmd_dockerfile_frontend_image() {
	load_env
	command -v go >/dev/null 2>&1 || die "go is not installed"
	build_dockerfile_frontend
	local dir=$STATE/images/dockerfile-frontend dfver tag
	dfver=$("$BIN_DIR/dockerfile-frontend" -version | awk '{ print $3 }')
	[ -n "$dfver" ] || die "$BIN_DIR/dockerfile-frontend -version printed no version"
	tag=dockerfile-frontend:${dfver#dockerfile/}
	rm -rf "$dir"
	mkdir -p "$dir"
	ln "$BIN_DIR/dockerfile-frontend" "$dir/dockerfile-frontend" 2>/dev/null || cp "$BIN_DIR/dockerfile-frontend" "$dir/dockerfile-frontend"
	cat >"$dir/Dockerfile" <<-'EOF'
	FROM scratch
	LABEL moby.buildkit.frontend.network.none="true"
	LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
	COPY dockerfile-frontend /bin/dockerfile-frontend
	ENTRYPOINT ["/bin/dockerfile-frontend"]
	EOF
	push_pinned DAPP_E2E_DOCKERFILE_FRONTEND_IMAGE "$tag" "$dir"
}

# ---------------------------------------------------------------- main

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
tools) cmd_tools ;;
up | status | images | frontend-image | toolchain-image | dockerfile-frontend-image | down)
	[ $# -ge 1 ] || usage
	STATE=$(abspath "$1")
	shift
	case $cmd in
	up) cmd_up ;;
	status) cmd_status ;;
	images) cmd_images "$@" ;;
	frontend-image) cmd_frontend_image ;;
	toolchain-image) cmd_toolchain_image ;;
	dockerfile-frontend-image) cmd_dockerfile_frontend_image ;;
	down) cmd_down "$@" ;;
	esac
	;;
-h | --help | help) usage ;;
*) usage ;;
esac
