#!/usr/bin/env bash
# Cuts the shell toolchain out of the toolchain build.sh made: the relocated
# bash and what it loads (its interpreter and the libraries its DT_NEEDED
# names, found on its DT_RPATH, and theirs), under the same prefix. Shell
# stages mount only bash, so a Dappfile without ansible stages pulls and
# unpacks a few MB instead of python3 and ansible.
#
#   toolchain/shell.sh TOOLCHAIN_TAR OUT_TAR
#
# Needs patchelf (it reads the ELF headers build.sh wrote). The tar is
# reproducible: the same toolchain tar gives the same bytes.
set -euo pipefail

PREFIX=.dapp/deps/toolchain

log() { printf '[toolchain-shell] %s\n' "$*" >&2; }
die() { printf '[toolchain-shell] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 TOOLCHAIN_TAR OUT_TAR"
full=$1 out=$2
[ -s "$full" ] || die "$full: no such toolchain tar"
command -v patchelf >/dev/null 2>&1 || die "patchelf missing (apt-get install patchelf)"

work=$(mktemp -d "$(cd "$(dirname "$out")" && pwd -P)/.toolchain-shell.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"
tar -xpf "$full" -C "$root"

# inside PATH: a path of the toolchain (absolute, as build.sh writes
# interpreters, RPATHs and symlinks) as a path below $root
inside() {
	case $1 in
	/"$PREFIX"/*) below "$root$1" ;;
	*) die "$1 lies outside the toolchain" ;;
	esac
}

# below PATH: PATH (below $root) without . and .., refused when that
# leaves the toolchain
below() {
	local p
	p=$(realpath -m -s "$1")
	case $p in
	"$root/$PREFIX"/*) printf '%s\n' "$p" ;;
	*) die "${1#"$root"} lies outside the toolchain" ;;
	esac
}

declare -A keep=()
# add FILE: keep FILE (below $root), the links leading to it and, for an
# ELF file, what it loads
add() {
	local f=$1 target dir rpath lib found interp
	local -a dirs
	[ -n "${keep[$f]:-}" ] && return
	keep[$f]=1
	if [ -L "$f" ]; then
		target=$(readlink "$f")
		case $target in
		/*) add "$(inside "$target")" ;;
		*) add "$(below "$(dirname "$f")/$target")" ;;
		esac
		return
	fi
	patchelf --print-needed "$f" >/dev/null 2>&1 || return 0
	if interp=$(patchelf --print-interpreter "$f" 2>/dev/null); then
		add "$(inside "$interp")"
	fi
	rpath=$(patchelf --print-rpath "$f")
	for lib in $(patchelf --print-needed "$f"); do
		found=
		IFS=: read -ra dirs <<<"$rpath"
		for dir in "${dirs[@]}"; do
			if [ -e "$(inside "$dir")/$lib" ]; then
				found=$(inside "$dir")/$lib
				break
			fi
		done
		[ -n "$found" ] || die "$lib, which ${f#"$root"} needs, is not on its RPATH $rpath"
		add "$found"
	done
}
add "$root/$PREFIX/usr/bin/bash"

list=$work/files
for f in "${!keep[@]}"; do
	printf '.%s\n' "${f#"$root"}"
done | LC_ALL=C sort >"$list"
log "$(wc -l <"$list") files: $(tr '\n' ' ' <"$list")"
# the folders above them first, with their modes, then the files, as
# build.sh writes the whole toolchain
while read -r f; do
	d=$(dirname "$f")
	while [ "$d" != . ]; do
		echo "$d"
		d=$(dirname "$d")
	done
done <"$list" | LC_ALL=C sort -u >"$work/dirs"
cat "$work/dirs" "$list" >"$work/all"
tar --numeric-owner --owner=0 --group=0 --no-recursion --mtime=@0 -C "$root" -cf "$out.tmp" -T "$work/all"
mv "$out.tmp" "$out"
log "wrote $out ($(du -h "$out" | cut -f1))"
