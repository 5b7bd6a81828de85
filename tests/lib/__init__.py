"""What the integration tests (tests/integration/) and the benchmarks
(bench/) share, so that none of them keeps a copy:

  tests.lib.log      progress and errors on stderr, one line each, flushed
  tests.lib.hostcpu  host CPU accounting: cpu_jiffies, proc_jiffies, and
                     Interference (what everything else used during a run)
  tests.lib.procs    the processes a script started (LIVE), killed by PID
  tests.lib.netns    network namespaces with taps, IPv6 always off;
                     run_in_netns for a test's inside part
  tests.lib.guest    Caboose under QEMU: the one launcher (base_argv,
                     qemu_argv, nic_args, start) and the REPL client (Guest)
  tests.lib.results  the pass/fail collector (Results)
  tests.lib.clients  the HTTP clients: curl, wrk, many connections, raw
                     requests, sha256 of bodies
  tests.lib.harness  the tests that boot Caboose in a namespace of their
                     own: initial archives of Debian programs (nginx's
                     site among them, for bench/run too), the outside part
                     (run_with_archive), boot to the REPL prompt, wait_for,
                     the seeded lossy relay, the standalone main
  tests.lib.linuxguest  bench/linux-guest's manifest, and a guest on a tap
                     in a namespace (bench/net, bench/tcp)
  tests.lib.packet   checksums for hand-built packets
  tests.lib.nginx_site  the nginx site both kernels serve (nginx.conf, users,
                     directories, the bodies): bench/linux-guest and
                     tests/integration/nginx_guest_test.py

A script imports it after putting the tree's root on sys.path (the
scripts in bench/ have no .py name and run from anywhere):

    ROOT = ...the tree's root...
    sys.path.insert(0, ROOT)
    from tests.lib.log import log

Python 3 standard library only. Still their own: bench/run's Machine (COM1
read live from a socket for boot timing, on the shared base_argv and
nic_args), tools/run_smoke.py's `make run` command (the user's own), and
the Linux guest's boot (bench/linux-guest).
"""
