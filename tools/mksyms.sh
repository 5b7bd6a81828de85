#!/bin/sh
# Usage: mksyms.sh KERNEL.ELF > ksyms.S
# Turns the kernel's symbols (text, data, rodata, bss) into the .ksyms
# section layout of kernel/console/ksyms.h, sorted by address.
set -eu
case "${1:-}" in
-h|--help)
	sed -n '2,4s/^# \{0,1\}//p' "$0"
	exit 0 ;;
esac
if [ $# -ne 1 ]; then
	echo "usage: mksyms.sh KERNEL.ELF > ksyms.S" >&2
	exit 2
fi
elf=$1
nm -n -S --defined-only "$elf" | awk '
	# lines: ADDR [SIZE] TYPE NAME
	NF == 4 { addr = $1; size = $2; type = $3; name = $4 }
	NF == 3 { addr = $1; size = "0"; type = $2; name = $3 }
	NF < 3 { next }
	type !~ /^[TtDdBbRr]$/ { next }
	name ~ /^(_ksyms_|\.L|__func__)/ { next }
	addr !~ /^ffffffff8/ { next }
	{ n++; A[n] = addr; S[n] = size; N[n] = name }
	END {
		print "\t.section .ksyms, \"a\""
		print "\t.balign 8"
		print "\t.quad " n
		print "\t.quad 16 + " n " * 16"
		off = 0
		for (i = 1; i <= n; i++) {
			printf "\t.quad 0x%s\n\t.long %d\n\t.long 0x%s\n", A[i], off, S[i]
			off += length(N[i]) + 1
		}
		for (i = 1; i <= n; i++)
			printf "\t.asciz \"%s\"\n", N[i]
	}'
