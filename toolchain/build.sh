#!/usr/bin/env bash
# Builds the dapp-frontend toolchain: bash, coreutils, python3 and ansible
# (ansible-core + community.general, python3-apt for the apt module) from
# Debian bookworm packages, relocated under one prefix so that it runs on any
# root filesystem (another libc, or none) when mounted there read-only.
#
#   toolchain/build.sh BASE_ROOTFS_TAR OUT_TAR
#
# BASE_ROOTFS_TAR is a debootstrapped bookworm (hack/e2e-env.sh caches one);
# OUT_TAR receives the relocated tree (paths start with .dapp/deps/toolchain).
# Needs root (chroot, mounts) and patchelf on the host.
#
# Relocation: every dynamically linked ELF file gets the toolchain's own
# loader as its interpreter and the toolchain's library directories as its
# DT_RPATH (not RUNPATH: RPATH also applies to the libraries' own
# dependencies and to dlopen), so nothing depends on the stage image's libc
# and nothing needs LD_LIBRARY_PATH, which would leak into the stage's own
# commands. Absolute symlinks are rewritten to point into the prefix.
set -euo pipefail

PREFIX=/.dapp/deps/toolchain
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 BASE_ROOTFS_TAR OUT_TAR"
base=$1 out=$2
[ -s "$base" ] || die "$base: no such rootfs tar"
[ "$(id -u)" -eq 0 ] || die "needs root (chroot)"
command -v patchelf >/dev/null 2>&1 || die "patchelf missing (apt-get install patchelf)"

work=$(mktemp -d "$(dirname "$out")/.toolchain.XXXXXX")
root=$work/root
cleanup() {
	awk -v p="$work/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
	rm -rf "$work"
}
trap cleanup EXIT

install=() collections=()
while read -r kind spec rest; do
	case $kind in
	'' | '#'*) ;;
	install) install+=("$spec") ;;
	collection) collections+=("$spec $rest") ;;
	*) die "packages.txt: unknown line kind $kind" ;;
	esac
done <"$HERE/packages.txt"

mkdir -p "$root"
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $DEBIAN_MIRROR bookworm main" >"$root/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

log "apt-get install ${install[*]}"
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; die "apt-get update failed"; }
in_root apt-get install -y -qq --no-install-recommends "${install[@]}" >>"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log" >&2; die "apt-get install failed"; }
for c in "${collections[@]}"; do
	read -r pkg path <<<"$c"
	log "collection $path from $pkg"
	(cd "$root/tmp" && in_root sh -c "cd /tmp && apt-get download -qq '$pkg'") >>"$work/apt.log" 2>&1 ||
		{ tail -n 20 "$work/apt.log" >&2; die "apt-get download $pkg failed"; }
	mkdir -p "$work/deb"
	dpkg-deb -x "$root"/tmp/"${pkg%%=*}"_*.deb "$work/deb"
	src=$work/deb/usr/lib/python3/dist-packages/ansible_collections/$path
	[ -d "$src" ] || die "$pkg has no ansible_collections/$path"
	mkdir -p "$root/usr/lib/python3/dist-packages/ansible_collections/$(dirname "$path")"
	cp -a "$src" "$root/usr/lib/python3/dist-packages/ansible_collections/$path"
	rm -rf "$work/deb" "$root"/tmp/*.deb
done
# byte-compile what apt did not (the collection), so the read-only mount
# never needs a write
in_root python3 -m compileall -q -j0 /usr/lib/python3/dist-packages/ansible_collections >/dev/null 2>&1 || true

# the versions that went in, for the image's documentation
in_root dpkg-query -W -f='${Package} ${Version}\n' >"$work/versions.txt"

log "relocating /usr into $PREFIX"
dest=$work/out$PREFIX
mkdir -p "$dest"
cp -a "$root/usr" "$dest/usr"
# what the toolchain never runs: documentation, perl (dpkg's), iconv's
# gconv modules (python and bash use UTF-8 and their own codecs)
rm -rf "$dest"/usr/share/{doc,man,info,locale,lintian,linda,bug,bash-completion,perl5} \
	"$dest"/usr/lib/*/{perl-base,perl,perl5,gconv} "$dest"/usr/bin/perl* "$dest/usr/sbin/policy-rc.d"
ln -s usr/bin "$dest/bin"
ln -s usr/lib "$dest/lib"
cp "$work/versions.txt" "$dest/VERSIONS"

# absolute symlinks (/etc/alternatives/…, /lib/…) resolved inside the
# chroot, then pointed at the same file under the prefix
in_root find /usr -type l -lname '/*' -exec sh -c 'for l; do printf "%s\t%s\n" "$l" "$(realpath -m "$l")"; done' _ {} + >"$work/links.txt"
while IFS=$'\t' read -r link target; do
	[ -e "$dest$link" ] || [ -L "$dest$link" ] || continue
	ln -sfn "$PREFIX$target" "$dest$link"
done <"$work/links.txt"

interp=$(patchelf --print-interpreter "$root/usr/bin/bash")
loader=$(chroot "$root" /usr/bin/realpath "$interp")
case $loader in /usr/lib/*) ;; *) die "unexpected loader path $loader" ;; esac
libdir=$(dirname "$loader")
rpath=$PREFIX$libdir:$PREFIX/usr/lib
log "patching ELF files: interpreter $PREFIX$loader, rpath $rpath"
n=0
while IFS= read -r -d '' f; do
	# the ELF magic, read without a process per file
	magic=
	LC_ALL=C read -r -n 4 magic <"$f" 2>/dev/null || true
	[ "$magic" = $'\x7fELF' ] || continue
	[ "$f" = "$dest$loader" ] && continue
	# executables get both in one go; libraries have no interpreter, and
	# static binaries no dynamic section: left alone
	patchelf --set-interpreter "$PREFIX$loader" --force-rpath --set-rpath "$rpath" "$f" 2>/dev/null ||
		patchelf --force-rpath --set-rpath "$rpath" "$f" 2>/dev/null || true
	n=$((n + 1))
done < <(find "$dest/usr" -type f -size +1k -print0)
log "patched $n ELF files"

# smoke test: run the relocated tools in an empty root that holds nothing
# but the toolchain (no libc, no /bin/sh)
mkdir -p "$work/empty/tmp"
cp -a "$work/out/.dapp" "$work/empty/"
chroot "$work/empty" "$PREFIX/usr/bin/bash" -c 'a=(1 2); [[ ${#a[@]} -eq 2 ]] && echo bash ok' >&2 ||
	die "relocated bash does not run in an empty root"
chroot "$work/empty" /usr/bin/env 2>/dev/null && die "the empty root is not empty"
chroot "$work/empty" "$PREFIX/usr/bin/python3" -c 'import sys, apt_pkg, yaml, jinja2, ansible; assert sys.prefix == "'"$PREFIX"'/usr", sys.prefix; print("python ok", sys.version.split()[0], "ansible", ansible.__file__)' >&2 ||
	die "relocated python does not run in an empty root"

tar --numeric-owner --sort=name --mtime=@0 -C "$work/out" -cf "$out.tmp" .
mv "$out.tmp" "$out"
log "toolchain: $(du -sh "$work/out" | cut -f1) unpacked, $(du -h "$out" | cut -f1) tar"
