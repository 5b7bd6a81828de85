#!/bin/sh
# Usage: tools/deps.sh run|test|bench   (--help: the usage, on stdout)
# Installs the Debian packages that `make run`, `make test` or `make bench`
# needs, but only the missing ones: `apt-get update` runs once, and only if
# something is missing.  Uses sudo when not root (if sudo exists); otherwise
# names the missing packages and fails.  Progress and errors go to stderr.
set -eu

# One list for every entry point: `make run`, `make run-smoke`, `make test`
# (and .ci/run, which calls `tools/deps.sh test`) and `make bench`.  Installed
# with --no-install-recommends, so whatever a command needs is named here even
# when another package only recommends it.  Checked on a minimal Debian 12
# (debootstrap --variant=minbase; ../shared/tools/fresh-check).
#
# make run: the build (make gcc binutils libc6-dev), QEMU and the option ROM of
# its virtio-net-pci (ipxe-qemu); python3 for `make repl` (tools/repl.py);
# curl for `curl localhost:8080/` and `make run-smoke` (tools/run_smoke.py)
RUN_PKGS="make gcc binutils libc6-dev qemu-system-x86 ipxe-qemu python3 curl"
# make test, besides: the GRUB ISO (grub-pc-bin grub-common xorriso mtools),
# host unit tests (libcriterion-dev), the fuzz targets (clang, and
# libclang-rt-14-dev: clang-14's libFuzzer and sanitizer runtimes and headers,
# only recommended by clang), network namespaces and taps (iproute2: ip;
# procps: sysctl), the clients (wrk; netbase: /etc/services, which wrk's
# getaddrinfo reads; dnsmasq-base; iputils-ping; iperf3), musl-tools
# (musl-gcc -static: apps/httpd), busybox-static (the user tier's shell
# scripts), gnuplot-nox (bench/run's PNG plots: the
# bench tier runs every benchmark with --quick), and e2fsprogs (mke2fs -d and
# e2fsck: make disk, the ext2 host tests, fuzz seeds and the blk tier's ext3 disk)
TEST_PKGS="$RUN_PKGS grub-pc-bin grub-common xorriso mtools libcriterion-dev clang libclang-rt-14-dev iproute2 procps netbase wrk dnsmasq-base iputils-ping iperf3 musl-tools busybox-static gnuplot-nox e2fsprogs"
# make bench needs nothing more since the bench tier of make test runs the
# benchmarks too: bench/linux-guest uses apt-get, dpkg-deb and objdump (apt,
# dpkg and binutils) and gcc -static (libc6-dev's libc.a), and takes busybox,
# nginx and iperf3 from downloaded packages without installing them; the
# user tier's initial archive (make user, tools/debroot.py) takes Debian's
# coreutils and libc6 the same way (apt, dpkg, binutils' objdump)
BENCH_PKGS="$TEST_PKGS"

usage() {
	echo "usage: $0 run|test|bench"
	echo "Installs the missing Debian packages that make run, make test or make bench needs"
	echo "(apt-get --no-install-recommends, through sudo when not root)."
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
run)  pkgs=$RUN_PKGS ;;
test) pkgs=$TEST_PKGS ;;
bench) pkgs=$BENCH_PKGS ;;
*)    usage >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
	echo "deps: needed packages: $pkgs" >&2
	exit 1
fi

# prints the packages of "$@" that are not installed
not_installed() {
	out=
	for p in "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || out="$out $p"
	done
	echo "${out# }"
}

# shellcheck disable=SC2086  # word splitting of the package list is intended
missing=$(not_installed $pkgs)
[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages: $missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "deps: not root and no sudo: install them as root with" >&2
	echo "deps:   apt-get update && apt-get install $missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || {
	echo "deps: apt-get update failed; install these yourself: $missing" >&2
	exit 1
}
echo "deps: apt-get install $missing" >&2
# shellcheck disable=SC2086  # word splitting of the package list is intended
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	$missing >&2 || {
	echo "deps: apt-get install failed for: $missing" >&2
	exit 1
}

# check again: apt-get can succeed without installing what was asked
# shellcheck disable=SC2086
still=$(not_installed $missing)
if [ -n "$still" ]; then
	echo "deps: still not installed: $still" >&2
	exit 1
fi
echo "deps: installed $missing" >&2
