#!/bin/sh
# Usage: tools/deps.sh run|test|bench
# Installs the Debian packages that `make run`, `make test` or `make bench`
# needs, but only the missing ones: `apt-get update` runs once, and only if
# something is missing.  Uses sudo when not root (if sudo exists); otherwise
# names the missing packages and fails.  Progress and errors go to stderr.
set -eu

RUN_PKGS="qemu-system-x86 make gcc binutils libc6-dev"
TEST_PKGS="$RUN_PKGS ipxe-qemu grub-pc-bin grub-common xorriso mtools libcriterion-dev python3 clang iproute2 curl wrk dnsmasq-base iputils-ping iperf3 musl-tools"
# bench/run: wrk (closed-loop load), gnuplot-nox (PNG plots), curl (readiness)
BENCH_PKGS="$TEST_PKGS gnuplot-nox"

case "${1:-}" in
run)  pkgs=$RUN_PKGS ;;
test) pkgs=$TEST_PKGS ;;
bench) pkgs=$BENCH_PKGS ;;
*)    echo "usage: $0 run|test|bench" >&2; exit 2 ;;
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
