"""What the integration tests (tests/integration/) and the benchmarks
(bench/) share, so that none of them keeps a copy:

  tests.lib.log      progress and errors on stderr, one line each, flushed
  tests.lib.hostcpu  host CPU accounting: cpu_jiffies, proc_jiffies, and
                     Interference (what everything else used during a run)

A script imports it after putting the tree's root on sys.path (the
scripts in bench/ have no .py name and run from anywhere):

    ROOT = ...the tree's root...
    sys.path.insert(0, ROOT)
    from tests.lib.log import make_log

Python 3 standard library only. Still to move here: the namespace-and-tap
set-up, the QEMU launcher, the REPL client, the pass/fail collector and
the Linux guest's boot (see issue 17).
"""
