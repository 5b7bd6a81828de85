#!/bin/busybox sh
# Debian's dynamically linked coreutils, unchanged from the .debs (ld.so,
# libc6, libselinux1 and libpcre2 beside them in the initial archive): the
# same output on Caboose and on Linux. What legitimately differs is fixed:
# date formats a given time, ls shows times in a fixed style (the files'
# times are 0 in the archive, kept as cpio gives them; "recent" would depend
# on each kernel's clock), an empty directory of the archive (/tmp, 1777)
# exists, a new file's time is a date,
# and everything goes through a pipe so no program sees a terminal.
{
	/usr/bin/date -u -d @1234567890
	/usr/bin/date -u -d @1234567890 '+%Y-%m-%d %H:%M:%S %j %A %s'
	/usr/bin/date -u -d '2024-02-29 12:00:00' '+%s %a %b %e'
	/usr/bin/ls /usr/bin /tests/sh
	/usr/bin/ls -l --time-style=+%Y-%m-%d_%H:%M /usr/bin /lib64 /tests/sh
	/usr/bin/ls -ld --time-style=+%Y-%m-%d /tests/sh/coreutils.sh /nonexistent
	echo "ls status $?"
	/bin/busybox stat -c '%n %A %h %Y' /tmp /tests /usr/bin   # (a directory's size: tmpfs counts 20 bytes an entry, Caboose 0)
	: > /tmp/new
	[ "$(/usr/bin/date -r /tmp/new +%Y)" -ge 2020 ] && echo "a new file's mtime is the wall clock's"
	/usr/bin/sha256sum /usr/bin/ls /usr/bin/sort /tests/sh/coreutils.sh
	printf 'abc' | /usr/bin/sha256sum
	/usr/bin/sha256sum /nonexistent
	echo "sha256sum status $?"
	printf 'pear\napple\n10\n9\nBanana\napple\n' | /usr/bin/sort
	printf 'pear\napple\n10\n9\nBanana\napple\n' | /usr/bin/sort -n -r -u
	/usr/bin/sort -t: -k2 /tests/sh/coreutils.sh | /usr/bin/sha256sum
	/usr/bin/sort --version | /usr/bin/sort | /bin/busybox head -n 1
} 2>&1 | /bin/busybox cat
echo "exit status $?"
