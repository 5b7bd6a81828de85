#!/bin/sh
# Usage: check-image.sh PASS1.ELF FINAL.ELF
# 1. Loaders copy the image file raw from the Multiboot header on (a.out
#    kludge): the bytes in the file must be exactly the memory image that
#    `objcopy -O binary` (laid out by physical address) produces.
# 2. Embedding the symbol table must not move any symbol.
set -eu
case "${1:-}" in
-h|--help)
	sed -n '2,6s/^# \{0,1\}//p' "$0"
	exit 0 ;;
esac
if [ $# -ne 2 ]; then
	echo "usage: check-image.sh PASS1.ELF FINAL.ELF" >&2
	exit 2
fi
pass1=$1 final=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

objcopy -O binary "$final" "$tmp/flat"
# file offset of the .boot section (the start of the loaded range)
offhex=$(readelf -W -S "$final" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".boot" { print $4 }')
[ -n "$offhex" ] || { echo "check-image: no .boot section" >&2; exit 1; }
off=$((0x$offhex))
size=$(stat -c %s "$tmp/flat")
tail -c +$((off + 1)) "$final" | head -c "$size" > "$tmp/raw"
if ! cmp -s "$tmp/flat" "$tmp/raw"; then
	echo "check-image: the ELF file is not laid out as the memory image (loaders copy it raw)" >&2
	exit 1
fi
nm -n "$pass1" | awk '{ print $1, $NF }' | grep -v ' _ksyms_end$\| _kernel_end$\| _load_end_phys$\| _bss_end_phys$' > "$tmp/a"
nm -n "$final" | awk '{ print $1, $NF }' | grep -v ' _ksyms_end$\| _kernel_end$\| _load_end_phys$\| _bss_end_phys$' > "$tmp/b"
if ! cmp -s "$tmp/a" "$tmp/b"; then
	echo "check-image: embedding symbols moved other symbols:" >&2
	diff "$tmp/a" "$tmp/b" | head >&2
	exit 1
fi
