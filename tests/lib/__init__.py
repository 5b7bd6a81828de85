"""What the integration tests (tests/integration/) and the benchmarks
(bench/) share, so that none of them keeps a copy:

  tests.lib.log      progress and errors on stderr, one line each, flushed
  tests.lib.hostcpu  host CPU accounting: cpu_jiffies, proc_jiffies, and
                     Interference (what everything else used during a run)
  tests.lib.procs    the processes a script started (LIVE), killed by PID
  tests.lib.netns    network namespaces with taps, IPv6 always off;
                     run_in_netns for a test's inside part
  tests.lib.guest    a Caboose guest under QEMU and its REPL client (Guest)
  tests.lib.results  the pass/fail collector (Results)
  tests.lib.packet   checksums for hand-built packets

A script imports it after putting the tree's root on sys.path (the
scripts in bench/ have no .py name and run from anywhere):

    ROOT = ...the tree's root...
    sys.path.insert(0, ROOT)
    from tests.lib.log import log

Python 3 standard library only. Still to come here (issue 17): one QEMU
launcher for the tests that build their own command lines (net_test.py's
and tcp_hostile_test.py's VM classes, bench/run's Console), the Linux
guest's boot (bench/linux-guest, bench/tcp, bench/net), and nic_test.py
and tcp_test.py, which still take Guest, csum and run_in_netns through
repl_test.py.
"""
