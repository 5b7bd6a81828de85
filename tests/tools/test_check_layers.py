#!/usr/bin/python3
"""Tests of tools/check-layers on small fake trees.

Each case builds a tree in a temporary directory: a clean one (every rule
holds) or the clean one with one fault put in (an upward include, a stray
prototype, ...), runs the checker on it with --root, and checks that exactly
the rule the fault breaks fails, naming the file and line, and the exit
status.

Run by the layers tier of tests/run.py. Output: one `ok NAME` or
`FAIL NAME: reason` line per case on stdout (the checker's format), details
on stderr; exit status 1 if any case failed.  Python 3 standard library only.
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(ROOT, "tools", "check-layers")
RULES = ["upward-include", "boot-include", "private-header", "stray-declaration",
         "late-include", "header-cycle"]


def guard(name, body):
    g = name.upper().replace("/", "_").replace(".", "_")
    return "#ifndef %s\n#define %s\n%s\n#endif\n" % (g, g, body)


# A clean tree with one file or more in every layer, and the constructs the
# checker must not mistake for faults: a macro call at file scope, a static
# forward declaration, a function pointer variable, an extern of an assembly
# symbol in one .c file, a prototype before its own definition.
CLEAN = {
    "kernel/lib/types.h": guard("kernel/lib/types.h", "typedef unsigned long u64;"),
    "kernel/lib/param.h": guard("kernel/lib/param.h", '#include "kernel/lib/types.h"\n'
                                "#define KPARAM(n, f, h) static int (*const kp_##f)(void) = f"),
    "kernel/arch/arch.h": guard("kernel/arch/arch.h", '#include "kernel/lib/types.h"\n'
                                "void arch_halt(void);\nvoid kmain(void);"),
    "kernel/console/console.h": guard("kernel/console/console.h",
                                      '#include "kernel/lib/types.h"\nvoid panic(const char *m);'),
    "kernel/sync/spinlock.h": guard("kernel/sync/spinlock.h", '#include "kernel/arch/arch.h"\n'
                                    "void spin_lock(u64 *l);"),
    "kernel/arch/x86_64/cpu.h": guard("kernel/arch/x86_64/cpu.h",
                                      '#include "kernel/arch/arch.h"\nvoid cpu_setup(void);'),
    "kernel/arch/x86_64/cpu.c": '#include "kernel/arch/x86_64/cpu.h"\n'
                                '#include "kernel/sync/spinlock.h"\n'
                                '#include "kernel/console/console.h"\n'
                                "extern char boot_stack[];\n"
                                "static u64 lock;\n"
                                "static void helper(void);\n"
                                "void cpu_setup(void) { spin_lock(&lock); helper(); }\n"
                                "static void helper(void) { (void)boot_stack; }\n"
                                "void arch_halt(void) { }\n",
    "kernel/arch/x86_64/boot.S": ".globl boot_stack\nboot_stack: .skip 64\n",
    "kernel/sched/sched.h": guard("kernel/sched/sched.h", '#include "kernel/sync/spinlock.h"\n'
                                  "void sched_tick(void);\nextern u64 sched_ticks;"),
    "kernel/sched/sched.c": '#include "kernel/sched/sched.h"\n'
                            '#include "kernel/lib/param.h"\n'
                            "u64 sched_ticks;\n"
                            "void (*sched_hook)(void);\n"
                            "static int set_x(void) { return 0; }\n"
                            'KPARAM("x", set_x, "help");\n'
                            "void sched_tick(void);\n"
                            "void sched_tick(void) { sched_ticks++; }\n",
    "kernel/mm/page.c": '#include "kernel/arch/arch.h"\n#include "kernel/sched/sched.h"\n'
                        "void page_init(void) { sched_tick(); }\n",
    "zerocopy/pkb.h": guard("zerocopy/pkb.h", '#include "kernel/lib/types.h"\nstruct pkb;'),
    "nic/nic.h": guard("nic/nic.h", '#include "zerocopy/pkb.h"\nvoid nic_xmit(struct pkb *b);'),
    "nic/nic_reg.h": guard("nic/nic_reg.h", "#define NIC_CTRL 0x10"),
    "nic/nic.c": '#include "nic/nic.h"\n#include "nic/nic_reg.h"\n'
                 "void nic_xmit(struct pkb *b) { (void)b; }\n",
    "fs/blk/blk.h": guard("fs/blk/blk.h", "void blk_read(void);"),
    "fs/blk/blk.c": '#include "fs/blk/blk.h"\nvoid blk_read(void) { }\n',
    "netstack/net_priv.h": guard("netstack/net_priv.h", '#include "nic/nic.h"\n'
                                 "void net_rx(struct pkb *b);"),
    "netstack/net.c": '#include "netstack/net_priv.h"\n#include "kernel/sched/sched.h"\n'
                      "void net_rx(struct pkb *b) { nic_xmit(b); sched_tick(); }\n",
    "netstack/net.h": guard("netstack/net.h", "void net_init(void);"),
    "kernel/boot/boot.h": guard("kernel/boot/boot.h", "void boot_step(void);"),
    "kernel/boot/main.c": '#include "kernel/boot/boot.h"\n#include "netstack/net.h"\n'
                          '#include "fs/blk/blk.h"\n#include "kernel/arch/arch.h"\n'
                          "void boot_step(void) { }\nvoid kmain(void) { boot_step(); }\n",
    "kernel/arch/x86_64/linker.ld": "SECTIONS { _text_start = .; }\n",
}


def run_checker(root):
    p = subprocess.run([sys.executable, CHECKER, "--root", root], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    fails = {}
    oks = set()
    for line in p.stdout.splitlines():
        if line.startswith("ok "):
            oks.add(line[3:].strip())
        elif line.startswith("FAIL "):
            rule, _, detail = line[5:].partition(": ")
            fails.setdefault(rule, []).append(detail)
        else:
            raise AssertionError("unexpected output line: %r" % line)
    return p.returncode, oks, fails, p.stdout + p.stderr


class CheckLayers(unittest.TestCase):
    def tree(self, changes=None):
        files = dict(CLEAN)
        files.update(changes or {})
        tmp = tempfile.TemporaryDirectory(prefix="check-layers-")
        self.addCleanup(tmp.cleanup)
        for rel, text in files.items():
            path = os.path.join(tmp.name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return tmp.name

    def expect_only(self, rule, changes, where):
        """The tree with changes fails rule (a line naming where) and no
        other rule."""
        status, oks, fails, out = run_checker(self.tree(changes))
        self.assertEqual(status, 1, out)
        self.assertEqual(sorted(fails), [rule], out)
        self.assertEqual(oks, set(RULES) - {rule}, out)
        self.assertTrue(any(d.startswith(where) for d in fails[rule]),
                        "no %s line at %s:\n%s" % (rule, where, out))
        return fails[rule]

    def test_clean_tree_passes(self):
        status, oks, fails, out = run_checker(self.tree())
        self.assertEqual((status, fails), (0, {}), out)
        self.assertEqual(oks, set(RULES), out)

    def test_upward_include_fails(self):
        d = self.expect_only("upward-include", {
            "kernel/sched/sched.c": '#include "nic/nic.h"\n' + CLEAN["kernel/sched/sched.c"]},
            "kernel/sched/sched.c:1:")
        self.assertIn("nic/nic.h", d[0])

    def test_include_of_a_peer_fails(self):
        self.expect_only("upward-include", {
            "nic/nic.c": '#include "fs/blk/blk.h"\n' + CLEAN["nic/nic.c"]}, "nic/nic.c:1:")

    def test_arch_including_the_core_fails(self):
        self.expect_only("upward-include", {
            "kernel/arch/x86_64/cpu.c": '#include "kernel/sched/sched.h"\n'
                                        + CLEAN["kernel/arch/x86_64/cpu.c"]},
            "kernel/arch/x86_64/cpu.c:1:")

    def test_file_in_no_layer_fails(self):
        self.expect_only("upward-include", {"kernel/newthing/x.c": "int x;\n"},
                         "kernel/newthing/x.c:1:")

    def test_stray_prototype_fails(self):
        d = self.expect_only("stray-declaration", {
            "netstack/net.c": '#include "netstack/net_priv.h"\n'
                              "void sched_tick(void);\n"
                              "void net_rx(struct pkb *b) { nic_xmit(b); sched_tick(); }\n"},
            "netstack/net.c:2:")
        self.assertIn("kernel/sched/sched.c", d[0])

    def test_stray_extern_in_a_function_fails(self):
        self.expect_only("stray-declaration", {
            "kernel/mm/page.c": "void page_init(void)\n{\n\textern u64 sched_ticks;\n"
                                "\tsched_ticks = 0;\n}\n"},
            "kernel/mm/page.c:3:")

    def test_declaration_of_nothing_fails(self):
        self.expect_only("stray-declaration", {
            "nic/nic.c": CLEAN["nic/nic.c"] + "int nic_gone(int x);\n"}, "nic/nic.c:4:")

    def test_assembly_symbol_declared_twice_fails(self):
        self.expect_only("stray-declaration", {
            "kernel/mm/page.c": CLEAN["kernel/mm/page.c"] + "extern char boot_stack[];\n"},
            "kernel/mm/page.c:4:")

    def test_include_of_boot_fails(self):
        self.expect_only("boot-include", {
            "kernel/mm/page.c": '#include "kernel/boot/boot.h"\n'
                                + CLEAN["kernel/mm/page.c"]}, "kernel/mm/page.c:1:")

    def test_private_header_from_outside_fails(self):
        self.expect_only("private-header", {
            "netstack/net.c": '#include "kernel/arch/x86_64/cpu.h"\n' + CLEAN["netstack/net.c"]},
            "netstack/net.c:1:")

    def test_register_header_from_outside_fails(self):
        self.expect_only("private-header", {
            "netstack/net.c": '#include "nic/nic_reg.h"\n' + CLEAN["netstack/net.c"]},
            "netstack/net.c:1:")

    def test_late_include_fails(self):
        self.expect_only("late-include", {
            "netstack/net.c": CLEAN["netstack/net.c"] + '#include "nic/nic.h"\n'},
            "netstack/net.c:4:")

    def test_header_cycle_fails(self):
        d = self.expect_only("header-cycle", {
            "kernel/arch/arch.h": guard("kernel/arch/arch.h",
                                        '#include "kernel/lib/types.h"\n'
                                        '#include "kernel/sync/spinlock.h"\n'
                                        "void arch_halt(void);\nvoid kmain(void);")},
            "kernel/arch/arch.h:")
        self.assertIn("kernel/sync/spinlock.h", d[0])


class LineResult(unittest.TextTestResult):
    """One `ok NAME` / `FAIL NAME: reason` line per case on stdout."""

    def addSuccess(self, test):
        super().addSuccess(test)
        sys.stdout.write("ok %s\n" % test._testMethodName)

    def _fail(self, test, err, kind):
        msg = self._exc_info_to_string(err, test)
        last = [l for l in msg.strip().splitlines() if l.strip()][-1]
        sys.stdout.write("FAIL %s: %s: %s\n" % (test._testMethodName, kind, last.strip()))
        sys.stderr.write(msg + "\n")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err, "error")


def run_cases(case, doc):
    """The main of a tools test: --help prints doc; else the tests of case,
    one line each (LineResult); status 0 if every one passed."""
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        sys.stdout.write(doc)
        return 0
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    runner = unittest.TextTestRunner(stream=sys.stderr, resultclass=LineResult, verbosity=0)
    result = runner.run(suite)
    sys.stdout.flush()
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(run_cases(CheckLayers, __doc__))
