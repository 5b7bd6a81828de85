#!/bin/busybox sh
# The first busybox check: a shell command line with a pipe, ls and
# a loop. Its output goes through a pipe so that ls sees no terminal on
# either kernel (Linux's console is a tty, Caboose's is not yet).
/bin/busybox sh -c 'echo hi | cat; ls /; for i in 1 2 3; do echo $i; done' 2>&1 | /bin/busybox cat
echo "exit status $?"
