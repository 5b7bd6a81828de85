#!/bin/busybox sh
# Pipes and redirections in a small script, run by Debian's static busybox
# on Linux and on Caboose; the output must be the same.
export PATH=/bin
cd /
busybox mkdir -p /tmp/w && cd /tmp/w
echo "one two three" > words
echo "four five" >> words
busybox cat < words | busybox wc -l
busybox tr ' ' '\n' < words | busybox sort | busybox head -n 3
busybox cat words nope 2> err > out
echo "cat with a missing file: $?"
busybox wc -l < out
busybox grep -c "No such file" err
{ echo a; echo b; echo c; } | while read x; do echo "line $x"; done
busybox seq 1 2000 | busybox tail -n 2
busybox seq 1 20000 | busybox md5sum
x=$(echo sub; echo shell)
echo "command substitution: $x"
busybox ls -l words | busybox cut -c1-10
busybox cp words copy && busybox mv copy moved && busybox ls -1
busybox rm moved out err
busybox mkdir d1 && busybox ls -1 -a /tmp/w
false || echo "false failed: $?"
(exit 3); echo "subshell exit: $?"
busybox sh -c 'kill -TERM $$'; echo "killed shell: $?"
busybox sleep 0.1 && echo slept
case "abc" in a*) echo "case ok";; esac
busybox basename /a/b/c.txt .txt
i=0; while [ $i -lt 5 ]; do i=$((i+1)); done; echo "arith $i"
busybox printf '%05d|%s\n' 42 str
echo done
