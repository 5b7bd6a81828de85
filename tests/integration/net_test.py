#!/usr/bin/python3
"""Network stack test (issue 5): Caboose's Ethernet, ARP, IPv4, ICMP, UDP
and DHCP against real Linux peers, in a network namespace this test
creates, with a multi-queue tap (host side 10.213.9.1/24) and QEMU
(-smp 2, virtio-net with two queue pairs).

[Over 1,000 lines: its three boots share the hand-built packets, the raw
socket on the tap and the hostile cases' table; it shrinks as the rest of
its harness (the VM class, the children's bookkeeping) moves to tests/lib/.]

Three boots:
  dhcp    dnsmasq in the namespace leases exactly 10.213.9.2 for 2 minutes
          (its minimum: a shorter lease is raised to 2m); Caboose boots with
          the default ip=dhcp and services=echo. Checked: the lease (REPL
          `ip`, console line, dnsmasq's log, the DHCP messages and the
          gratuitous ARP on the wire), routes, ping at 56, 1472, 8000, 65000
          and 65507 bytes (fragments both ways, counted by netstat), UDP echo
          from 1 to 65507 bytes checked byte for byte with no payload copy,
          ICMP port unreachable (ECONNREFUSED on a connected socket) and its
          rate limit, ARP entries on both sides, the ARP queue for an address
          nobody answers; then hostile input from a raw AF_PACKET socket
          (truncated and bad-length frames and packets, bad IPv4 and UDP and
          ICMP checksums, bad IP options, bad source addresses, unknown
          protocols, malformed and spoofed ARP, forged DHCP replies,
          overlapping, duplicate, tiny, out-of-range, endless and
          memory-flooding fragments, two ARP storms), each case checked
          against its net.drop.<reason> counter and the reply it must or
          must not get. Afterwards: the guest still answers ping and UDP
          echo, the held fragments time out (ICMP time exceeded, reassembly
          memory back to 0), the lease is renewed at T1, no packet buffer
          leaked, no panic.
  static  ip=10.213.9.3/24,10.213.9.1 (dnsmasq stopped): address, DHCP state
          "off", ping and UDP echo, no DHCP client.
  user    QEMU's user-mode network exactly as `make run` has it (restrict=on,
          hostfwd 127.0.0.1:8080 to port 80, one queue pair, the Makefile's
          CMDLINE): slirp's DHCP gives 10.0.2.15/24 from server 10.0.2.2,
          and no gateway (restrict=on sends no router option); when CMDLINE
          starts the http service, GET / through the hostfwd port answers
          200. It runs in the namespace too, only so that its hostfwd port
          cannot collide with anything on the host.

The whole run takes about 70 s, most of it waiting: fragments time out
after 30 s, and the lease's T1 comes 60 s after the ACK.

Needs root (network namespaces), and the Debian packages dnsmasq-base
(dnsmasq), iputils-ping (ping) and iproute2 (ip). From tests/run.py:
run_all(logdir) returns (name, ok, detail) results. Alone:
python3 tests/integration/net_test.py [LOGDIR] (default build/test-logs).
Nothing leaves the namespace.
Logs in LOGDIR: net-<boot>.console.log, .repl.log, .qemu.log,
net-dnsmasq.log. CABOOSE_NET_VERBOSE=1 shows the details (counters, REPL
replies) of passing checks too.
"""
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from tests.lib import guest  # noqa: E402
from tests.lib.guest import Guest, PROMPT  # noqa: E402
from tests.lib.packet import csum  # noqa: E402
from tests.lib.log import log  # noqa: E402
from tests.lib.netns import (delete_netns, exit_on_sigterm, make_netns, sh,  # noqa: E402
                             stop_inside)
from tests.lib.results import Results  # noqa: E402
KERNEL = os.path.join(ROOT, "build", "caboose.elf")

HOST_IP = "10.213.9.1"
DHCP_IP = "10.213.9.2"
STATIC_IP = "10.213.9.3"
GUEST_MAC = bytes.fromhex("525400c0ffee")
STATIC_MAC = bytes.fromhex("525400c0ffef")
LEASE_S = 120            # dnsmasq refuses shorter leases (it makes them 2 minutes)
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33
PID_FILE = "net-children.pids"   # what the inside part started, for the outside to kill
QEMU_CRASHES = []                # boots started again after QEMU crashed (see VM)
REPL_GARBLED = []                # REPL replies asked for again (see VM.json)


def mac_str(b):
    return ":".join("%02x" % x for x in b)


# ---------------------------------------------------------------------------
# packets, built by hand
# ---------------------------------------------------------------------------


def eth(payload, etype=0x0800, dst=GUEST_MAC, src=None):
    return dst + (src or HOST_MAC[0]) + struct.pack("!H", etype) + payload


HOST_MAC = [bytes(6)]   # filled in once the tap exists


def ip4(payload, proto=17, src=HOST_IP, dst=DHCP_IP, ident=0, frag=0, ttl=64, opts=b"",
        tot=None, ver=4, ihl=None, bad_csum=False):
    assert len(opts) % 4 == 0
    ihl = (20 + len(opts)) // 4 if ihl is None else ihl
    tot = 20 + len(opts) + len(payload) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, tot, ident, frag, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + opts
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp(data, sport, dport=7, src=HOST_IP, dst=DHCP_IP, length=None, cs=None):
    n = 8 + len(data) if length is None else length
    u = struct.pack("!HHHH", sport, dport, n, 0) + data
    if cs is None:
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(u))
        cs = csum(pseudo + u) or 0xFFFF
    return u[:6] + struct.pack("!H", cs) + u[8:]


def icmp_echo(ident, seq, data, bad_csum=False, typ=8):
    h = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    c = csum(h) ^ (0x1111 if bad_csum else 0)
    return h[:2] + struct.pack("!H", c) + h[4:]


def fragments(payload, proto, ident, size, src=HOST_IP, dst=DHCP_IP):
    """IPv4 packets carrying payload in pieces of `size` bytes (a multiple
    of 8), in order."""
    out = []
    for off in range(0, len(payload), size):
        piece = payload[off:off + size]
        more = off + size < len(payload)
        out.append(ip4(piece, proto=proto, src=src, dst=dst, ident=ident,
                       frag=(off // 8) | (0x2000 if more else 0)))
    return out


def arp(op, sha, spa, tha, tpa, hlen=6, plen=4, htype=1, ptype=0x0800):
    return struct.pack("!HHBBH", htype, ptype, hlen, plen, op) + sha + socket.inet_aton(spa) + \
        tha + socket.inet_aton(tpa)


def dhcp_reply(typ, xid, yiaddr, chaddr=GUEST_MAC, server=HOST_IP, lease=LEASE_S, cut=None):
    """A BOOTREPLY of DHCP message type typ (5 ACK, 6 NAK)."""
    m = struct.pack("!BBBBIHH4s4s4s4s", 2, 1, 6, 0, xid, 0, 0, bytes(4),
                    socket.inet_aton(yiaddr), bytes(4), bytes(4))
    m += chaddr + bytes(10) + bytes(64) + bytes(128) + struct.pack("!I", 0x63825363)
    m += bytes([53, 1, typ, 54, 4]) + socket.inet_aton(server)
    m += bytes([51, 4]) + struct.pack("!I", lease) + bytes([1, 4, 255, 255, 255, 0, 255])
    m += bytes(max(0, 300 - len(m)))
    return m if cut is None else m[:cut]


def parse_ip(frame):
    """(ip header fields, payload) of an IPv4 frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 15) * 4
    tot = struct.unpack("!H", frame[16:18])[0]
    return dict(proto=frame[23], src=socket.inet_ntoa(frame[26:30]),
                dst=socket.inet_ntoa(frame[30:34]),
                frag=struct.unpack("!H", frame[20:22])[0]), frame[14 + ihl:14 + tot]


class Tap:
    """A raw socket on the tap: frames to the guest, and what it sends."""

    def __init__(self, ifname="tap0"):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # room for a storm's replies (FORCE: past rmem_max, we are root),
        # and not our own frames (PACKET_IGNORE_OUTGOING)
        self.s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        self.s.bind((ifname, ETH_P_ALL))
        self.s.settimeout(0.05)

    def send(self, frame):
        self.s.send(frame)

    def frames(self, duration):
        """Frames the guest sent during the next `duration` seconds."""
        end = time.time() + duration
        out = []
        while time.time() < end:
            try:
                data, addr = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING:
                out.append(data)
        return out

    def wait(self, match, timeout):
        end = time.time() + timeout
        while time.time() < end:
            try:
                data, addr = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING and match(data):
                return data
        return None

    def drain(self):
        self.s.setblocking(False)
        try:
            while True:
                self.s.recv(70000)
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self.s.settimeout(0.05)

    def close(self):
        self.s.close()


# ---------------------------------------------------------------------------
# host-side tools, run inside the namespace
# ---------------------------------------------------------------------------
PING_RE = re.compile(r"(\d+) packets transmitted, (\d+) received")


def ping(addr, size, count=3, timeout=20):
    """(received, transmitted, output) of `ping -c count -s size`."""
    try:
        p = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "3", "-s",
                            str(size), addr], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        out = p.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\n(ping timed out after %d s)" % timeout
    m = PING_RE.search(out)
    if not m:
        return 0, 0, out
    return int(m.group(2)), int(m.group(1)), out


def udp_echo(addr, sizes, rng, tries=3, wait=2.0):
    """Send each size to addr:7 and check the reply byte for byte.
    Returns (problems, notes): a size that never came back right is a
    problem; one that needed a retry is a note."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((addr, 7))
    s.settimeout(0.2)
    problems, notes = [], []
    try:
        for n in sizes:
            data = rng.randbytes(n)
            ok, seen = False, []
            for t in range(tries):
                s.send(data)
                end = time.time() + wait
                while time.time() < end and not ok:
                    try:
                        got = s.recv(70000)
                    except socket.timeout:
                        continue
                    if got == data:
                        ok = True
                    else:
                        seen.append(len(got))
                if ok:
                    if t:
                        notes.append("%d bytes: came back on try %d" % (n, t + 1))
                    break
            if not ok:
                problems.append("%d bytes: no exact echo in %d tries (other replies: %s)"
                                % (n, tries, seen[:5] or "none"))
    except OSError as e:
        problems.append("socket error %s" % e)
    finally:
        s.close()
    return problems, notes


def neigh(addr):
    return sh("ip", "neigh", "show", addr, "dev", "tap0", check=False).stdout.strip()


# ---------------------------------------------------------------------------
# QEMU and the REPL
# ---------------------------------------------------------------------------
class VM:
    """Caboose in QEMU: COM1 to a file, the REPL (COM2) on a unix socket.

    QEMU 7.2 with -accel tcg,thread=multi sometimes dies of SIGSEGV in
    memory_region_dispatch_read while the guest sizes PCI BARs on one CPU
    (decoding off and on again) and the other CPU reads MMIO: about one boot
    in 40-60 on a loaded host, always before the ready line. Such a boot is
    started once more (its console is kept as TAG.crashed.console.log and
    the crash is listed in QEMU_CRASHES); any other early death is left to
    the checks."""

    def __init__(self, logdir, tag, kernel, cmdline, netargs, children):
        self.tag, self.logdir = tag, logdir
        self.console = os.path.join(logdir, tag + ".console.log")
        self.sock_path = os.path.join(logdir, tag + "-repl.sock")
        self.g = None
        self.transcript = open(os.path.join(logdir, tag + ".repl.log"), "wb")
        for attempt in (1, 2):
            for stale in (self.console, self.sock_path):
                if os.path.exists(stale):
                    os.unlink(stale)
            self.proc = guest.start(guest.qemu_argv(logdir, tag, 2, cmdline, kernel,
                                                    repl=self.sock_path, extra=netargs),
                                    logdir, tag)
            children.add(self.proc, "qemu-system-x86_64")
            end = time.time() + 30
            while time.time() < end and self.proc.poll() is None and \
                    "caboose: ready" not in self.text():
                time.sleep(0.05)
            rc = self.proc.poll()
            if attempt == 2 or rc is None or rc >= 0 or "caboose: ready" in self.text():
                break
            kept = os.path.join(logdir, tag + ".crashed.console.log")
            os.replace(self.console, kept)
            last = [l for l in open(kept, errors="replace").read().splitlines() if l.strip()]
            QEMU_CRASHES.append("%s: QEMU killed by signal %d before the ready line "
                                "(console ends %r)" % (tag, -rc, last[-1][-80:] if last else ""))
            log("net: " + QEMU_CRASHES[-1] + "; starting it once more")

    def text(self):
        try:
            with open(self.console, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern, timeout):
        """The first match of pattern in the console within timeout, or None."""
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU exited with status %s: %s" % (
                    self.proc.returncode, guest.qemu_stderr(self.logdir, self.tag, 400)))
            time.sleep(0.1)
        return None

    def repl(self):
        if self.g is None:
            self.g = Guest.attach(self.sock_path, self.proc, self.transcript, self.console)
        return self.g

    def json(self, cmd):
        """The JSON reply to a (read-only) REPL command. Under network load
        the guest's COM2 output loses bytes now and then (see REPL_GARBLED):
        a reply that does not parse, or a lost prompt, is asked for again,
        up to three times."""
        g = self.repl()
        for attempt in range(3):
            try:
                return g.json(cmd, timeout=10)
            except (ValueError, TimeoutError) as e:
                err = e
                REPL_GARBLED.append("%s: %r: %s" % (self.tag, cmd, str(e)[:120]))
                log("net: REPL reply to %r garbled (%s); asking again" % (cmd, str(e)[:80]))
                try:
                    g.send(b"\r")
                    g.read_until(PROMPT, 5)
                except (TimeoutError, EOFError):
                    pass
                g.drain(quiet=0.3, limit=5)
        raise err

    def iface(self):
        return self.json("ip")["interfaces"][0]

    def counters(self, prefix=""):
        return {x["name"]: x["value"]
                for x in self.json("counters " + prefix if prefix else "counters")["counters"]}

    def drops(self):
        return {k[len("net.drop."):]: v for k, v in self.counters("net.drop.").items()}

    def netstat_ip(self):
        return self.json("netstat")["ip"]

    def stop(self):
        if self.g is not None:
            try:
                self.g.sock.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.transcript.close()


class Children:
    """Processes this part started: killed by their own PIDs, and listed in
    a file so that the outside part can kill them if this one dies."""

    def __init__(self, logdir):
        self.path = os.path.join(logdir, PID_FILE)
        self.procs = []
        open(self.path, "w").close()

    def add(self, proc, name):
        self.procs.append(proc)
        with open(self.path, "a") as f:
            f.write("%d %s\n" % (proc.pid, name))

    def kill(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kill_all(self):
        for p in self.procs:
            self.kill(p)


def tap_args(mac):
    return guest.nic_args("tap0", queues=2, mac=mac_str(mac))


def no_panic(check, vm, name):
    text = vm.text()
    m = re.search(r"panic:.*", text)
    ready = "caboose: ready" in text
    check(name, m is None and ready,
          m.group(0) if m else ("ready line present" if ready else
                                "no ready line; console tail: " + text[-300:]))


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


# ---------------------------------------------------------------------------
# boot 1: DHCP from dnsmasq, then everything else
# ---------------------------------------------------------------------------
def boot_dhcp(check, logdir, kernel, children, rng):
    leases = os.path.join(logdir, "net-dnsmasq.leases")
    dlog = os.path.join(logdir, "net-dnsmasq.log")
    for stale in (leases, dlog):
        if os.path.exists(stale):
            os.unlink(stale)
    dns = subprocess.Popen(
        ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=tap0",
         "--bind-interfaces", "--no-resolv", "--log-dhcp", "--log-facility=" + dlog,
         "--dhcp-range=%s,%s,255.255.255.0,%ds" % (DHCP_IP, DHCP_IP, LEASE_S),
         "--dhcp-leasefile=" + leases],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children.add(dns, "dnsmasq")
    t_start = time.time()
    tap = Tap()   # from before the boot: it sees the DHCP exchange
    vm = VM(logdir, "net-dhcp", kernel, "console=ttyS0 services=echo", tap_args(GUEST_MAC),
            children)
    try:
        _boot_dhcp(check, vm, tap, dlog, rng, t_start)
    finally:
        tap.close()
        vm.stop()
        children.kill(dns)


def dnsmasq_acks(dlog):
    try:
        with open(dlog, errors="replace") as f:
            return len(re.findall(r"DHCPACK\(tap0\) %s 52:54:00:c0:ff:ee" % re.escape(DHCP_IP),
                                  f.read()))
    except FileNotFoundError:
        return 0


def _boot_dhcp(check, vm, tap, dlog, rng, t_start):
    # -- 1. the lease --
    m = vm.wait_console(r"vnet0: DHCP lease of (\S+) for (\d+) s", 40)
    t_bound = time.time()
    log("net: DHCP lease %.1f s after QEMU started" % (t_bound - t_start))
    check("net dhcp: console reports the lease of %s for %d s" % (DHCP_IP, LEASE_S),
          m is not None and m.group(1) == DHCP_IP and int(m.group(2)) == LEASE_S,
          m.group(0) if m else "no 'DHCP lease' line in 40 s; console tail: " + vm.text()[-400:])
    if m is None:
        return
    f = vm.iface()
    check("net dhcp: REPL ip shows %s/24 bound, server and gateway %s, a %d s lease"
          % (DHCP_IP, HOST_IP, LEASE_S),
          f["addr"] == DHCP_IP and f["prefix"] == 24 and f["dhcp"] == "bound"
          and f["server"] == HOST_IP and f["gateway"] == HOST_IP and f["lease_s"] == LEASE_S
          and 0 < f["left_s"] <= LEASE_S and 0 < f["t1_left_s"] <= LEASE_S // 2
          and f["t1_left_s"] < f["t2_left_s"] < f["left_s"] and f["mac"] == mac_str(GUEST_MAC)
          and f["link"] == "up" and f["mtu"] == 1500, json.dumps(f))
    acks0 = dnsmasq_acks(dlog)
    check("net dhcp: dnsmasq acknowledged the guest's request", acks0 >= 1,
          "%d DHCPACKs for %s in %s" % (acks0, DHCP_IP, dlog))
    early = tap.frames(0.5)
    disc = [fr for fr in early if fr[6:12] == GUEST_MAC and parse_ip(fr)
            and parse_ip(fr)[0]["proto"] == 17 and parse_ip(fr)[1][:4] == b"\x00\x44\x00\x43"]
    garp = [fr for fr in early if fr[6:12] == GUEST_MAC and fr[12:14] == b"\x08\x06"
            and fr[28:32] == fr[38:42] == socket.inet_aton(DHCP_IP)]
    check("net dhcp: the guest broadcast its DHCP messages from 0.0.0.0:68, then announced "
          "%s with a gratuitous ARP" % DHCP_IP,
          len(disc) >= 2 and all(parse_ip(fr)[0]["src"] == "0.0.0.0" and fr[:6] == b"\xff" * 6
                                 for fr in disc) and len(garp) >= 1,
          "%d DHCP messages from the guest, %d gratuitous ARPs, of %d frames"
          % (len(disc), len(garp), len(early)))
    routes = vm.json("route")["routes"]
    check("net dhcp: routes: the /24 on the link and a default via %s" % HOST_IP,
          {"dest": "10.213.9.0", "prefix": 24, "gateway": "0.0.0.0", "if": 0} in routes
          and {"dest": "0.0.0.0", "prefix": 0, "gateway": HOST_IP, "if": 0} in routes,
          json.dumps(routes))

    # endless fragments first: they must time out by the end of this boot
    t_frag, frag_base = endless_fragments(check, vm, tap)
    traffic(check, vm, rng)
    arp_both_sides(check, vm)
    t_last = hostile(check, vm, tap, rng)
    f = vm.iface()
    check("net hostile: after the forged DHCP replies the lease is unchanged",
          f["addr"] == DHCP_IP and f["dhcp"] == "bound" and f["gateway"] == HOST_IP,
          json.dumps(f))
    t_last = max(t_last, fragment_memory(check, vm, tap, rng))
    arp_unresolved(check, vm, tap)
    arp_storms(check, vm, tap, rng)
    # still alive?
    rcv, sent, out = ping(DHCP_IP, 56)
    rcv2, sent2, out2 = ping(DHCP_IP, 8000)
    check("net hostile: afterwards the guest still answers ping (56 and 8000 bytes)",
          rcv == sent == 3 and rcv2 == sent2 == 3, out[-300:] + out2[-300:])
    problems, notes = udp_echo(DHCP_IP, [1, 1473, 8000], rng)
    check("net hostile: afterwards UDP echo still works byte for byte", not problems,
          "; ".join(problems))
    frag_timeout(check, vm, tap, max(t_frag, t_last), frag_base)
    renewal(check, vm, dlog, t_bound, acks0)
    no_leak(check, vm)
    no_panic(check, vm, "net dhcp: no panic, ready line present")


def traffic(check, vm, rng):
    # -- 2. ping, with fragments both ways --
    for size in (56, 1472):
        rcv, sent, out = ping(DHCP_IP, size)
        check("net ping %s -s %d: every reply" % (DHCP_IP, size), sent == 3 and rcv == 3,
              out[-400:])
    ns0 = vm.netstat_ip()
    rcv, sent, out = ping(DHCP_IP, 8000)
    ns1 = vm.netstat_ip()
    check("net ping -s 8000 (fragmented both ways): every reply", sent == 3 and rcv == 3,
          out[-400:])
    check("net ping -s 8000: netstat counts reassembled datagrams and fragments sent",
          delta(ns0, ns1, "reassembled") >= 3 and delta(ns0, ns1, "fragments_sent") >= 3 * 6
          and delta(ns0, ns1, "icmp_echo_replies_sent") >= 3,
          "before %s after %s" % (json.dumps(ns0), json.dumps(ns1)))
    for size in (65000, 65507):
        rcv, sent, out = ping(DHCP_IP, size)
        check("net ping -s %d (%s fragments each way): every reply"
              % (size, (size + 8 + 1479) // 1480), sent == 3 and rcv == 3, out[-400:])

    # -- 3. UDP echo --
    c0 = vm.counters("copy.")
    sizes = [1, 100, 1472, 1473, 8000, 30000, 65507]
    problems, notes = udp_echo(DHCP_IP, sizes, rng)
    if notes:
        log("net udp echo: " + "; ".join(notes))
    check("net udp echo %s:7, sizes %s: every byte back" % (DHCP_IP, sizes), not problems,
          "; ".join(problems))
    c1 = vm.counters("copy.")
    check("net udp echo: no payload byte copied (copy.tx_write, tx_linearize, rx_read)",
          delta(c0, c1, "copy.tx_write") == 0 and delta(c0, c1, "copy.tx_linearize") == 0
          and delta(c0, c1, "copy.rx_read") == 0,
          "before %s after %s" % (json.dumps(c0), json.dumps(c1)))
    socks = vm.json("sockets")["sockets"]
    echo = [x for x in socks if x["local"] == "0.0.0.0:7" and x["proto"] == "udp"]
    check("net sockets: the UDP echo socket counted the datagrams",
          len(echo) == 1 and echo[0]["rx_packets"] >= len(sizes)
          and echo[0]["tx_packets"] >= len(sizes) and echo[0]["rq_bytes"] == 0,
          json.dumps(socks))

    # closed port: ICMP port unreachable, seen as ECONNREFUSED
    d0 = vm.drops()
    ns0 = vm.netstat_ip()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((DHCP_IP, 9))   # services=echo only: nothing on 9
    s.settimeout(3)
    outcome = None
    try:
        s.send(b"anyone there?")
        s.recv(100)
        outcome = "got a reply"
    except ConnectionRefusedError:
        outcome = "ECONNREFUSED"
    except socket.timeout:
        outcome = "no reply and no error in 3 s"
    finally:
        s.close()
    d1 = vm.drops()
    ns1 = vm.netstat_ip()
    check("net udp to a closed port: ICMP port unreachable (ECONNREFUSED on the host)",
          outcome == "ECONNREFUSED" and delta(d0, d1, "udp_no_socket") >= 1
          and delta(ns0, ns1, "icmp_errors_sent") >= 1,
          "%s; udp_no_socket +%d, icmp_errors_sent +%d" % (
              outcome, delta(d0, d1, "udp_no_socket"), delta(ns0, ns1, "icmp_errors_sent")))

    # the unreachables are rate-limited (a burst, then 100 a second)
    n = 300
    time.sleep(0.5)   # let the bucket fill
    d0 = vm.drops()
    ns0 = vm.netstat_ip()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.time()
    for i in range(n):
        s.sendto(b"x", (DHCP_IP, 9))
    s.close()
    end = time.time() + 5
    while time.time() < end:
        d1 = vm.drops()
        if delta(d0, d1, "udp_no_socket") >= n:
            break
        time.sleep(0.1)
    ns1 = vm.netstat_ip()
    el = time.time() - t0
    sent_err = delta(ns0, ns1, "icmp_errors_sent")
    limit = 20 + 100 * el + 5
    check("net icmp errors rate-limited: %d datagrams to a closed port" % n,
          delta(d0, d1, "udp_no_socket") == n and sent_err <= limit
          and delta(d0, d1, "icmp_rate") == n - sent_err and sent_err >= 20,
          "udp_no_socket +%d, icmp_errors_sent +%d (limit %.0f in %.1f s), icmp_rate +%d"
          % (delta(d0, d1, "udp_no_socket"), sent_err, limit, el, delta(d0, d1, "icmp_rate")))


def arp_both_sides(check, vm):
    # -- 4. ARP entries on both sides --
    n = neigh(DHCP_IP)
    check("net arp: the host's neighbour table has the guest's MAC for %s" % DHCP_IP,
          "lladdr " + mac_str(GUEST_MAC) in n, "ip neigh: %r" % n)
    a = vm.json("arp")["arp"]
    want = mac_str(HOST_MAC[0])
    check("net arp: the guest's ARP table has the host's MAC %s for %s" % (want, HOST_IP),
          any(e["ip"] == HOST_IP and e["mac"] == want and e["state"] == "resolved" for e in a),
          json.dumps(a))


# ---------------------------------------------------------------------------
# 7. hostile input
# ---------------------------------------------------------------------------
class Case:
    def __init__(self, label, frames, counter, n=None, reply=None, no_reply=None):
        self.label = label
        self.frames = frames
        self.counter = counter      # net.drop.<counter> must rise by at least n
        self.n = len(frames) if n is None else n
        self.reply = reply          # a frame matching this must come back
        self.no_reply = no_reply    # no frame matching this may come back


def is_echo_reply(ident):
    def match(f):
        p = parse_ip(f)
        return p is not None and p[0]["proto"] == 1 and p[0]["src"] == DHCP_IP and \
            len(p[1]) >= 8 and p[1][0] == 0 and struct.unpack("!H", p[1][4:6])[0] == ident
    return match


def is_udp_reply(sport):
    def match(f):
        p = parse_ip(f)
        return p is not None and p[0]["proto"] == 17 and p[0]["src"] == DHCP_IP and \
            len(p[1]) >= 8 and struct.unpack("!HH", p[1][:4]) == (7, sport)
    return match


def is_icmp_error(typ, code):
    def match(f):
        p = parse_ip(f)
        return p is not None and p[0]["proto"] == 1 and p[0]["src"] == DHCP_IP and \
            len(p[1]) >= 8 and p[1][0] == typ and p[1][1] == code
    return match


def echo_frames(ident, data=b"hostile input test", **kw):
    return eth(ip4(icmp_echo(ident, 1, data), proto=1, **kw))


def hostile_cases(rng):
    E = eth
    C = []
    add = C.append
    # Ethernet
    add(Case("Ethernet header only (IPv4 EtherType, nothing after)", [E(b"")] * 3, "ip_short"))
    add(Case("802.1Q-tagged frame", [E(b"\x00\x05\x08\x00" + ip4(b"", 253), 0x8100)] * 3,
             "eth_vlan"))
    add(Case("unknown EtherType 0x88b5", [E(bytes(46), 0x88B5)] * 3, "eth_proto"))
    add(Case("frame for another unicast MAC",
             [E(icmp_echo(0x7001, 1, b"x"), dst=bytes.fromhex("020000000099"))] * 3,
             "eth_not_ours", no_reply=is_echo_reply(0x7001)))
    # IPv4 header
    full = ip4(icmp_echo(0x7002, 1, b"y" * 20), proto=1)
    add(Case("IPv4 header cut at 12 bytes", [E(full[:12])] * 3, "ip_short"))
    add(Case("IPv4 header length 60 in a 30-byte packet",
             [E(ip4(bytes(10), proto=1, ihl=15, tot=30)[:30])] * 3, "ip_short"))
    add(Case("IPv4 version 6 under the IPv4 EtherType",
             [E(ip4(icmp_echo(0x7003, 1, b"z"), proto=1, ver=6))] * 3, "ip_version",
             no_reply=is_echo_reply(0x7003)))
    add(Case("IPv4 header length 16 bytes", [E(ip4(bytes(20), proto=1, ihl=4))] * 3,
             "ip_version"))
    add(Case("bad IPv4 header checksum", [echo_frames(0x7004, bad_csum=True)] * 3, "ip_csum",
             no_reply=is_echo_reply(0x7004)))
    add(Case("IPv4 total length beyond the frame",
             [E(ip4(icmp_echo(0x7005, 1, b"w" * 20), proto=1, tot=1000))] * 3, "ip_len",
             no_reply=is_echo_reply(0x7005)))
    add(Case("IPv4 total length below the header length",
             [E(ip4(icmp_echo(0x7006, 1, b"w" * 20), proto=1, tot=12))] * 3, "ip_len"))
    add(Case("IPv4 total length 65535 in a 60-byte frame",
             [E(ip4(icmp_echo(0x7007, 1, b"w" * 18), proto=1, tot=65535))] * 3, "ip_len"))
    # options
    add(Case("IPv4 option of length 0", [echo_frames(0x7010, opts=b"\x07\x00\x00\x00")] * 3,
             "ip_options", no_reply=is_echo_reply(0x7010)))
    add(Case("IPv4 option of length 1", [echo_frames(0x7011, opts=b"\x83\x01\x00\x00")] * 3,
             "ip_options"))
    add(Case("IPv4 option running past the header",
             [echo_frames(0x7012, opts=b"\x44\x28\x05\x00")] * 3, "ip_options"))
    add(Case("IPv4 option type as the header's last byte, no length",
             [echo_frames(0x7013, opts=b"\x01\x01\x01\x83")] * 3, "ip_options"))
    add(Case("IPv4 options of 40 bytes, the last one overlong",
             [echo_frames(0x7014, opts=b"\x01" * 36 + b"\x07\x08\x04\x00")] * 3, "ip_options"))
    add(Case("IPv4 options NOP NOP NOP EOL: skipped, echo answered",
             [echo_frames(0x7015, opts=b"\x01\x01\x01\x00")], None, reply=is_echo_reply(0x7015)))
    add(Case("IPv4 Record Route option (room for 9 addresses): skipped, echo answered",
             [echo_frames(0x7016, opts=b"\x07\x27\x04" + bytes(36) + b"\x00")], None,
             reply=is_echo_reply(0x7016)))
    # addresses and protocols
    add(Case("broadcast source address", [echo_frames(0x7020, src="255.255.255.255")] * 3,
             "ip_src", no_reply=is_echo_reply(0x7020)))
    add(Case("multicast source address", [echo_frames(0x7021, src="224.0.0.5")] * 3, "ip_src",
             no_reply=is_echo_reply(0x7021)))
    add(Case("IPv4 packet for another address", [echo_frames(0x7022, dst="10.213.9.77")] * 3,
             "ip_not_ours", no_reply=is_echo_reply(0x7022)))
    add(Case("unknown IP protocol 253: ICMP protocol unreachable",
             [E(ip4(b"hello", proto=253))], "ip_proto", reply=is_icmp_error(3, 2)))
    # UDP
    add(Case("UDP header cut at 4 bytes", [E(ip4(b"\x9c\x41\x00\x07"))] * 3, "udp_short"))
    add(Case("UDP length beyond the packet", [E(ip4(udp(b"x" * 10, 40001, length=500)))] * 3,
             "udp_len", no_reply=is_udp_reply(40001)))
    add(Case("UDP length below 8", [E(ip4(udp(b"x" * 10, 40002, length=4)))] * 3, "udp_len"))
    add(Case("bad UDP checksum to the echo port",
             [E(ip4(udp(b"checksum", 40003, cs=0x1234)))] * 3, "udp_csum",
             no_reply=is_udp_reply(40003)))
    add(Case("UDP checksum 0 (none) to the echo port: echoed",
             [E(ip4(udp(b"no checksum", 40004, cs=0)))], None, reply=is_udp_reply(40004)))
    # ICMP
    add(Case("ICMP message of 3 bytes", [E(ip4(b"\x08\x00\xf7", proto=1))] * 3, "icmp_short"))
    add(Case("bad ICMP checksum on an echo request",
             [E(ip4(icmp_echo(0x7030, 1, b"bad", bad_csum=True), proto=1))] * 3, "icmp_csum",
             no_reply=is_echo_reply(0x7030)))
    add(Case("unknown ICMP type 42", [E(ip4(icmp_echo(0x7031, 1, b"?", typ=42), proto=1))] * 3,
             "icmp_type"))
    # ARP
    hm = HOST_MAC[0]
    add(Case("ARP with hardware length 5",
             [E(arp(1, hm, HOST_IP, bytes(6), DHCP_IP, hlen=5), 0x0806)] * 3, "arp_bad"))
    add(Case("ARP with opcode 9", [E(arp(9, hm, HOST_IP, bytes(6), DHCP_IP), 0x0806)] * 3,
             "arp_bad"))
    add(Case("ARP for IPX (protocol type 0x8137)",
             [E(arp(1, hm, HOST_IP, bytes(6), DHCP_IP, ptype=0x8137), 0x0806)] * 3, "arp_bad"))
    add(Case("ARP cut at 20 bytes", [E(arp(1, hm, HOST_IP, bytes(6), DHCP_IP)[:20], 0x0806)] * 3,
             "arp_bad"))
    add(Case("ARP from a multicast sender MAC",
             [E(arp(1, bytes.fromhex("0300000000aa"), "10.213.9.60", bytes(6), DHCP_IP),
                0x0806)] * 3, "arp_bad"))
    add(Case("ARP from another MAC claiming the guest's address",
             [E(arp(2, bytes.fromhex("0200000000bb"), DHCP_IP, GUEST_MAC, DHCP_IP), 0x0806,
                src=bytes.fromhex("0200000000bb"))] * 3, "arp_bad"))
    # DHCP replies that are not for us (the client is bound: any is out of turn)
    add(Case("forged DHCPNAK with a wrong transaction ID (the address must stay)",
             [E(ip4(udp(dhcp_reply(6, 0x0BADF00D, "0.0.0.0"), 67, 68)))] * 3, "dhcp_bad"))
    add(Case("forged DHCPACK giving another address, wrong transaction ID",
             [E(ip4(udp(dhcp_reply(5, 0x0BADF00D, "10.213.9.99"), 67, 68)))] * 3, "dhcp_bad"))
    add(Case("DHCP reply cut at 100 bytes",
             [E(ip4(udp(dhcp_reply(5, 0, DHCP_IP, cut=100), 67, 68)))] * 3, "dhcp_bad"))
    add(Case("DHCP reply for another MAC",
             [E(ip4(udp(dhcp_reply(6, 0, DHCP_IP, chaddr=bytes.fromhex("0200000000cc")),
                        67, 68)))] * 3, "dhcp_bad"))
    # fragments (UDP to the echo port, identifications 0x8000 up)
    data = rng.randbytes(40)
    u = udp(data, 40010)
    f = [ip4(u[0:24], ident=0x8001, frag=0x2000), ip4(u[16:40], ident=0x8001, frag=2 | 0x2000),
         ip4(u[40:], ident=0x8001, frag=5)]
    add(Case("overlapping fragments: the datagram is dropped", [E(x) for x in f], "frag_overlap",
             n=1, no_reply=is_udp_reply(40010)))
    add(Case("fragment of 4 bytes with more-fragments set",
             [E(ip4(b"abcd", ident=0x8002, frag=0x2000))] * 3, "frag_bad"))
    add(Case("fragment with data past 65535 bytes",
             [E(ip4(bytes(16), ident=0x8003, frag=8190))] * 3, "frag_too_big"))
    data = rng.randbytes(600)
    f = fragments(udp(data, 40011), 17, 0x8004, 8)
    add(Case("%d fragments of 8 bytes for one datagram (limit 64)" % len(f), [E(x) for x in f],
             "frag_too_many", n=1, no_reply=is_udp_reply(40011)))
    data = rng.randbytes(24)
    u = udp(data, 40012)
    f = [ip4(u[16:32], ident=0x8005, frag=2), ip4(u[32:40], ident=0x8005, frag=4 | 0x2000)]
    add(Case("a fragment past the end the last fragment set", [E(x) for x in f], "frag_bad",
             n=1))
    data = rng.randbytes(200)
    f = fragments(udp(data, 40013), 17, 0x8006, 16)
    add(Case("duplicate fragment: dropped alone, the datagram still echoed",
             [E(x) for x in f[:3] + [f[2]] + f[3:]], "frag_dup", n=1,
             reply=lambda fr, d=data: is_udp_reply(40013)(fr) and parse_ip(fr)[1][8:] == d))
    data = rng.randbytes(200)
    f = fragments(udp(data, 40014), 17, 0x8007, 24)
    add(Case("fragments in reverse order: reassembled and echoed", [E(x) for x in f[::-1]], None,
             reply=lambda fr, d=data: is_udp_reply(40014)(fr) and parse_ip(fr)[1][8:] == d))
    data = rng.randbytes(200)
    f = fragments(udp(data, 40015), 17, 0x8008, 8)
    add(Case("%d tiny fragments of 8 bytes (the first only the UDP header): echoed" % len(f),
             [E(x) for x in f], None,
             reply=lambda fr, d=data: is_udp_reply(40015)(fr) and parse_ip(fr)[1][8:] == d))
    data = rng.randbytes(600)
    f = fragments(icmp_echo(0x7040, 1, data), 1, 0x8009, 64)
    add(Case("ping in 64-byte fragments: answered", [E(x) for x in f], None,
             reply=is_echo_reply(0x7040)))
    return C


def hostile(check, vm, tap, rng):
    """Each case on its own; returns when the last frame went out."""
    t_last = time.time()
    for c in hostile_cases(rng):
        tap.drain()
        d0 = vm.drops() if c.counter else {}
        for fr in c.frames:
            tap.send(fr)
        t_last = time.time()
        got = None
        if c.reply:
            got = tap.wait(c.reply, 3)
        d1 = d0
        if c.counter:
            end = time.time() + 3
            while True:
                d1 = vm.drops()
                if delta(d0, d1, c.counter) >= c.n or time.time() > end:
                    break
                time.sleep(0.05)
        bad_reply = None
        if c.no_reply:
            for fr in tap.frames(0.3):
                if c.no_reply(fr):
                    bad_reply = fr
                    break
        problems = []
        if c.counter and delta(d0, d1, c.counter) < c.n:
            moved = {k: delta(d0, d1, k) for k in d1 if delta(d0, d1, k)}
            problems.append("net.drop.%s +%d, expected +%d (counters that moved: %s)"
                            % (c.counter, delta(d0, d1, c.counter), c.n, moved or "none"))
        if c.reply and got is None:
            problems.append("no reply in 3 s")
        if bad_reply is not None:
            problems.append("the guest answered: %s" % bad_reply[:64].hex())
        name = "net hostile: " + c.label
        if c.counter:
            name += " -> net.drop.%s" % c.counter
        check(name, not problems, "; ".join(problems))
    return t_last


def endless_fragments(check, vm, tap):
    """First fragments of 100 datagrams that never complete. What the design
    guarantees, however slowly the guest takes them in: memory stays bounded
    (at most 64 datagrams, at most 4 MiB), every one of the 100 is either
    held or dropped and counted (net.drop.frag_mem when it is evicted to make
    room), and the oldest are the ones evicted: the newest can still be
    completed, the first cannot. The exact counts are not timing-dependent
    once every frame is in, so the check waits for that (up to 30 s), not
    for a fixed time. They time out later (frag_timeout)."""
    n, held_max = 100, 64
    d0 = vm.drops()
    ns0 = vm.netstat_ip()
    for i in range(n):
        tap.send(eth(ip4(bytes(16), ident=0x9000 + i, frag=0x2000)))

    def accounted(ns, d):
        return delta(ns0, ns, "reassembly_datagrams") + delta(d0, d, "frag_mem")
    end = time.time() + 30
    while True:
        ns1 = vm.netstat_ip()
        d1 = vm.drops()
        if accounted(ns1, d1) >= n or time.time() > end:
            break
        time.sleep(0.2)
    evicted = delta(d0, d1, "frag_mem")
    check("net hostile: 100 endless fragmented datagrams: memory bounded (at most 64 held, "
          "at most 4 MiB), each one held or evicted -> net.drop.frag_mem",
          ns1["reassembly_datagrams"] == held_max and 0 < ns1["reassembly_bytes"] <= 4 << 20
          and accounted(ns1, d1) == n,
          "netstat %s; frag_mem +%d; %d of %d accounted for" %
          (json.dumps(ns1), evicted, accounted(ns1, d1), n))
    # the oldest went: the last fragment of the newest completes it, the
    # last fragment of the first starts a new datagram of its own
    r0 = ns1["reassembled"]
    tap.send(eth(ip4(bytes(8), ident=0x9000 + n - 1, frag=2)))
    tap.send(eth(ip4(bytes(8), ident=0x9000, frag=2)))
    # both frames are in once the newest is reassembled and the first's new
    # datagram is held again (or something wrongly completed it): wait for
    # that state, not for a fixed time, since a busy host delays either
    end = time.time() + 10
    while True:
        ns2 = vm.netstat_ip()
        if ns2["reassembled"] > r0 + 1 or (ns2["reassembled"] > r0 and
                                           ns2["reassembly_datagrams"] == held_max):
            break
        if time.time() > end:
            break
        time.sleep(0.2)
    time.sleep(0.3)     # the second fragment, if it wrongly completed anything
    ns2 = vm.netstat_ip()
    d2 = vm.drops()
    t = time.time()     # the last of them (the first's new datagram) started by now
    check("net hostile: 100 endless fragmented datagrams: the oldest evicted, the newest kept",
          ns2["reassembled"] == r0 + 1 and ns2["reassembly_datagrams"] == held_max,
          "reassembled +%d (want 1: the newest only); %d held" %
          (ns2["reassembled"] - r0, ns2["reassembly_datagrams"]))
    return t, d2


def frag_timeout(check, vm, tap, t_frag, d_base):
    """Every datagram held (the endless ones, and what the hostile cases
    left) times out 30 s after it started; the sender of a first fragment
    hears of it (ICMP time exceeded, reassembly)."""
    wait = t_frag + 31 - time.time()
    tap.drain()
    seen = []
    if wait > 0:
        log("net: waiting %.0f s for the held fragments to time out" % wait)
        seen = tap.frames(wait)
    end = time.time() + 5
    while True:
        ns = vm.netstat_ip()
        d = vm.drops()
        if ns["reassembly_datagrams"] == 0 or time.time() > end:
            break
        seen += tap.frames(0.2)
    check("net hostile: the held fragments time out after 30 s, reassembly memory back to 0 "
          "-> net.drop.frag_timeout",
          ns["reassembly_datagrams"] == 0 and ns["reassembly_bytes"] == 0
          and delta(d_base, d, "frag_timeout") >= 64,
          "netstat %s; frag_timeout +%d" % (json.dumps(ns), delta(d_base, d, "frag_timeout")))
    te = [fr for fr in seen if is_icmp_error(11, 1)(fr)]
    quoted = set()
    for fr in te:
        q = parse_ip(fr)[1][8:]
        if len(q) >= 20:
            quoted.add(struct.unpack("!H", q[4:6])[0])
    check("net hostile: ICMP time exceeded (reassembly) sent for timed-out datagrams",
          te and quoted and all(0x8000 <= i < 0xA100 for i in quoted),
          "%d ICMP time-exceeded messages, quoting IP ids %s" % (len(te), sorted(quoted)))


def fragment_memory(check, vm, tap, rng):
    """48 datagrams of 40 full-size fragments each, none complete: about
    7.5 MiB of buffers against the 4 MiB reassembly limit."""
    d0 = vm.drops()
    piece = rng.randbytes(1480)
    for i in range(48):
        for k in range(40):
            tap.send(eth(ip4(piece, ident=0xA000 + i, frag=(k * 185) | 0x2000)))
    t = time.time()
    end = time.time() + 10
    while True:
        d1 = vm.drops()
        ns = vm.netstat_ip()
        if delta(d0, d1, "frag_mem") > 0 and ns["reassembly_bytes"] > 0 or time.time() > end:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    d1 = vm.drops()
    ns = vm.netstat_ip()
    check("net hostile: fragment flood (48 x 40 x 1480 bytes): reassembly memory held to 4 MiB "
          "-> net.drop.frag_mem",
          delta(d0, d1, "frag_mem") > 0 and 0 < ns["reassembly_bytes"] <= 4 << 20
          and ns["reassembly_datagrams"] <= 64,
          "frag_mem +%d; netstat %s" % (delta(d0, d1, "frag_mem"), json.dumps(ns)))
    return t


def arp_unresolved(check, vm, tap):
    """Replies to an address nobody answers ARP for: the packets wait on the
    entry (8 at most, the oldest dropped), three requests go out a second
    apart, then the entry and its queue go."""
    ghost = "10.213.9.77"
    tap.drain()
    d0 = vm.drops()
    for i in range(20):
        tap.send(eth(ip4(icmp_echo(0x7050, i, b"to a ghost"), proto=1, src=ghost),
                     src=bytes.fromhex("0200000000ee")))
    # wait until all 20 are in (queued or counted), not for a fixed time: the
    # first 8 fill the queue long before the last 12 are taken on a loaded host
    a = []
    full = 0
    end = time.time() + 3
    while time.time() < end:
        a = [e for e in vm.json("arp")["arp"] if e["ip"] == ghost]
        full = delta(d0, vm.drops(), "arp_queue_full")
        if a and a[0]["queued"] + full >= 20:
            break
        time.sleep(0.1)
    check("net arp: an unanswered address waits incomplete with at most 8 packets queued "
          "-> net.drop.arp_queue_full",
          len(a) == 1 and a[0]["state"] == "incomplete" and a[0]["queued"] == 8
          and full == 12, "%s; arp_queue_full +%d" % (json.dumps(a), full))
    frames = tap.frames(4.5)
    reqs = [fr for fr in frames if fr[6:12] == GUEST_MAC and fr[12:14] == b"\x08\x06"
            and fr[20:22] == b"\x00\x01" and fr[38:42] == socket.inet_aton(ghost)]
    d1 = vm.drops()
    a = [e for e in vm.json("arp")["arp"] if e["ip"] == ghost]
    check("net arp: 3 requests a second apart, then the entry goes and its queue is dropped "
          "-> net.drop.arp_unresolved",
          not a and delta(d0, d1, "arp_unresolved") == 8 and len(reqs) == 3,
          "entry %s; arp_unresolved +%d; %d requests for it seen"
          % (json.dumps(a), delta(d0, d1, "arp_unresolved"), len(reqs)))


def arp_storms(check, vm, tap, rng):
    # requests for other addresses from random MACs: counted, no entry made
    a0 = vm.json("arp")["arp"]
    d0 = vm.drops()
    n = 2000
    for i in range(n):
        mac = bytes([0x02, rng.randrange(256), rng.randrange(256), rng.randrange(256),
                     rng.randrange(256), rng.randrange(256)])
        spa = "10.213.9.%d" % rng.randrange(100, 250)
        tpa = "10.213.9.%d" % rng.randrange(3, 250)
        tap.send(eth(arp(1, mac, spa, bytes(6), tpa), 0x0806, dst=b"\xff" * 6, src=mac))
    end = time.time() + 10
    while time.time() < end:
        d1 = vm.drops()
        if delta(d0, d1, "arp_not_for_us") >= n:
            break
        time.sleep(0.2)
    a1 = vm.json("arp")["arp"]
    check("net hostile: ARP storm, %d requests for other addresses from random MACs "
          "-> net.drop.arp_not_for_us, no ARP entry made" % n,
          delta(d0, d1, "arp_not_for_us") >= n and
          sorted(e["ip"] for e in a1) == sorted(e["ip"] for e in a0),
          "arp_not_for_us +%d; ARP table before %s after %s"
          % (delta(d0, d1, "arp_not_for_us"), [e["ip"] for e in a0], [e["ip"] for e in a1]))
    # requests for our address from 400 random senders (more than the 256
    # entries of the table): each answered; the host's entry may be evicted,
    # and the checks after the storms show the guest resolves it again
    n = 400
    tap.drain()
    senders = set()
    for i in range(n):
        mac = bytes([0x02, 0x55, rng.randrange(256), rng.randrange(256), i >> 8, i & 255])
        senders.add(mac)
        spa = "10.214.%d.%d" % (i >> 8, (i & 255) or 1)
        tap.send(eth(arp(1, mac, spa, bytes(6), DHCP_IP), 0x0806, dst=b"\xff" * 6, src=mac))
    replied = set()
    end = time.time() + 10
    while time.time() < end and len(replied) < n:
        for fr in tap.frames(0.2):
            if fr[12:14] == b"\x08\x06" and fr[20:22] == b"\x00\x02" and fr[6:12] == GUEST_MAC:
                replied.add(fr[32:38])
    a2 = vm.json("arp")["arp"]
    check("net hostile: ARP storm, %d requests for the guest's address from random senders: "
          "each answered" % n, replied == senders,
          "%d of %d answered; ARP table now lists %d entries" % (len(replied & senders), n,
                                                                 len(a2)))


def renewal(check, vm, dlog, t_bound, acks0):
    """The lease is renewed at T1 (half the lease): the client unicasts a
    REQUEST to dnsmasq, gets an ACK, stays bound with a fresh lease."""
    wait = t_bound + LEASE_S // 2 + 1 - time.time()
    if wait > 0:
        log("net: waiting %.0f s for the DHCP renewal at T1" % wait)
        time.sleep(wait)
    end = time.time() + 15
    while True:
        f = vm.iface()
        acks = dnsmasq_acks(dlog)
        if (acks > acks0 and f["dhcp"] == "bound") or time.time() > end:
            break
        time.sleep(0.5)
    # what the first lease would have left now: a renewal at T1 added 60 s
    first_left = LEASE_S - (time.time() - t_bound)
    check("net dhcp: the lease is renewed at T1 (a second ACK; bound again, lease restarted)",
          acks > acks0 and f["dhcp"] == "bound" and f["addr"] == DHCP_IP
          and f["left_s"] >= first_left + LEASE_S // 4,
          "dnsmasq ACKs %d (were %d); the first lease would have %.0f s left; ip %s"
          % (acks, acks0, first_left, json.dumps(f)))


def no_leak(check, vm):
    """Every live packet buffer is posted in a ring (receive buffers, or sent
    ones not yet reclaimed): none held by ARP, reassembly or a socket."""
    live = held = None
    for attempt in range(10):
        q1 = vm.json("nic")["queues"]
        c = vm.counters("pkb.")
        q2 = vm.json("nic")["queues"]
        live = c.get("pkb.live")
        held = sum(x["inflight"] for x in q2)
        if q1 == q2 and live == held:
            break
        time.sleep(0.3)
    check("net dhcp: no packet buffer leaked (pkb.live equals the buffers in the rings)",
          live == held, "pkb.live %s, buffers in rings %s" % (live, held))


# ---------------------------------------------------------------------------
# boot 2: a static address
# ---------------------------------------------------------------------------
def boot_static(check, logdir, kernel, children, rng):
    vm = VM(logdir, "net-static", kernel,
            "console=ttyS0 ip=%s/24,%s services=echo" % (STATIC_IP, HOST_IP),
            tap_args(STATIC_MAC), children)
    try:
        m = vm.wait_console(r"vnet0: address (\S+), gateway (\S+)", 30)
        check("net static: console reports the address %s/24, gateway %s" % (STATIC_IP, HOST_IP),
              m is not None and m.group(1) == STATIC_IP + "/24" and m.group(2) == HOST_IP,
              m.group(0) if m else "no address line; console tail: " + vm.text()[-400:])
        if m is None:
            return
        vm.wait_console(r"services: udp_echo on UDP port 7", 10)
        f = vm.iface()
        check("net static: REPL ip shows %s/24, gateway %s, dhcp off" % (STATIC_IP, HOST_IP),
              f["addr"] == STATIC_IP and f["prefix"] == 24 and f["gateway"] == HOST_IP
              and f["dhcp"] == "off" and f["lease_s"] == 0 and f["server"] == "0.0.0.0"
              and f["mac"] == mac_str(STATIC_MAC), json.dumps(f))
        for size in (56, 8000):
            rcv, sent, out = ping(STATIC_IP, size)
            check("net static: ping -s %d: every reply" % size, sent == 3 and rcv == 3,
                  out[-400:])
        sizes = [1, 1473, 8000, 30000]
        problems, notes = udp_echo(STATIC_IP, sizes, rng)
        check("net static: udp echo, sizes %s: every byte back" % sizes, not problems,
              "; ".join(problems))
        n = neigh(STATIC_IP)
        check("net static: the host's neighbour table has the guest's MAC for %s" % STATIC_IP,
              "lladdr " + mac_str(STATIC_MAC) in n, "ip neigh: %r" % n)
        dh = "DHCP" in vm.text()
        check("net static: no DHCP client ran", not dh,
              "\n".join(l for l in vm.text().splitlines() if "DHCP" in l))
        no_panic(check, vm, "net static: no panic")
    finally:
        vm.stop()


# ---------------------------------------------------------------------------
# boot 3: QEMU's user-mode network, as `make run` has it
# ---------------------------------------------------------------------------
def make_run_cmdline():
    """The kernel command line `make run` passes (the Makefile's CMDLINE)."""
    try:
        with open(os.path.join(ROOT, "Makefile")) as f:
            m = re.search(r"^CMDLINE\s*\?=\s*(.*?)\s*$", f.read(), re.M)
        return m.group(1) if m else "console=ttyS0"
    except OSError:
        return "console=ttyS0"


def http_get(port, timeout=10):
    """The raw reply to GET / on 127.0.0.1:port, read until the server
    closes (Connection: close) or timeout; an error text if it fails."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return "connect: %s" % e
    buf = b""
    end = time.time() + timeout
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: caboose\r\nConnection: close\r\n\r\n")
        while time.time() < end:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except OSError as e:
        return "after %d bytes: %s" % (len(buf), e)
    finally:
        s.close()
    return buf


def boot_user(check, logdir, kernel, children):
    cmdline = make_run_cmdline()
    vm = VM(logdir, "net-user", kernel, cmdline,
            ["-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80",
             "-device", "virtio-net-pci,netdev=n0"], children)
    try:
        m = vm.wait_console(r"vnet0: DHCP lease of (\S+) for (\d+) s", 40)
        check("net user: console reports a DHCP lease of 10.0.2.15",
              m is not None and m.group(1) == "10.0.2.15",
              m.group(0) if m else "no 'DHCP lease' line in 40 s; console tail: "
              + vm.text()[-400:])
        if m is None:
            return
        f = vm.iface()
        # restrict=on: slirp's DHCP sends no router (or DNS) option, so
        # there is no gateway and no default route
        check("net user: REPL ip shows 10.0.2.15/24 bound from server 10.0.2.2, no gateway "
              "(restrict=on sends no router option)",
              f["addr"] == "10.0.2.15" and f["prefix"] == 24 and f["dhcp"] == "bound"
              and f["server"] == "10.0.2.2" and f["gateway"] == "0.0.0.0"
              and f["lease_s"] > 0 and 0 < f["left_s"] <= f["lease_s"], json.dumps(f))
        routes = vm.json("route")["routes"]
        check("net user: routes: only 10.0.2.0/24 on the link",
              routes == [{"dest": "10.0.2.0", "prefix": 24, "gateway": "0.0.0.0", "if": 0}],
              json.dumps(routes))
        svc = re.search(r"services=(\S+)", cmdline)
        if svc and "http" in svc.group(1).split(","):
            # make run's hostfwd: 127.0.0.1:8080 (in the namespace) -> guest port 80
            vm.wait_console(r"services: http", 5)
            r = http_get(8080)
            check("net user: make run's hostfwd 127.0.0.1:8080 reaches the guest's HTTP "
                  "service (200)",
                  isinstance(r, bytes) and r.startswith(b"HTTP/1.1 200"),
                  repr(r[:200]) if isinstance(r, bytes) else r)
        no_panic(check, vm, "net user: no panic")
    finally:
        vm.stop()


# ---------------------------------------------------------------------------
# inside the namespace
# ---------------------------------------------------------------------------
def inside(logdir, kernel, seed):
    # with CABOOSE_NET_VERBOSE=1 in the environment, passing checks show their details too
    check = Results(verbose=os.environ.get("CABOOSE_NET_VERBOSE") == "1")
    children = Children(logdir)
    rng = random.Random(seed)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    try:
        with open("/sys/class/net/tap0/address") as f:
            HOST_MAC[0] = bytes.fromhex(f.read().strip().replace(":", ""))
        for name, fn, args in (("dhcp", boot_dhcp, (rng,)), ("static", boot_static, (rng,)),
                               ("user", boot_user, ())):
            t0 = time.time()
            try:
                fn(check, logdir, kernel, children, *args)
            except Exception as e:
                import traceback
                traceback.print_exc()
                check("net %s harness" % name, False, "%s: %s" % (type(e).__name__, e))
            log("net: %s boot took %.1f s" % (name, time.time() - t0))
        for c in QEMU_CRASHES:
            log("net: NOTE: " + c + " (the boot was started again)")
        for c in REPL_GARBLED:
            log("net: NOTE: garbled REPL reply (asked again): " + c)
    finally:
        children.kill_all()
    return check.items


# ---------------------------------------------------------------------------
# outside: make the namespace, run the inside part in it, clean up
# ---------------------------------------------------------------------------
def kill_leftovers(logdir, ns):
    """Kill what the inside part started, if it died without doing so: only
    PIDs it recorded, and only if they still run the program it started
    inside our namespace."""
    try:
        ns_ino = os.stat("/run/netns/" + ns).st_ino
        with open(os.path.join(logdir, PID_FILE)) as f:
            entries = [l.split() for l in f if l.strip()]
    except OSError:
        return
    for pid, name in entries:
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().split(b"\0")
            same_ns = os.stat("/proc/%s/ns/net" % pid).st_ino == ns_ino
        except OSError:
            continue
        if same_ns and cmd and os.path.basename(cmd[0].decode()) == name:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_all(logdir, seed=5):
    os.makedirs(logdir, exist_ok=True)
    if os.geteuid() != 0:
        return [("net (needs root for a network namespace)", False,
                 "run as root: the test creates a network namespace and a tap device")]
    missing = [t for t in ("dnsmasq", "ping", "ip") if not any(
        os.access(os.path.join(d, t), os.X_OK) for d in
        os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"])]
    if missing:
        return [("net tools", False, "missing %s (Debian packages dnsmasq-base, iputils-ping, "
                 "iproute2)" % ", ".join(missing))]
    ns = "caboose-net-%d" % os.getpid()
    exit_on_sigterm()
    p = None
    try:
        os.unlink(os.path.join(logdir, PID_FILE))   # an older run's
    except FileNotFoundError:
        pass
    try:
        make_netns(ns, [("tap0", True, HOST_IP + "/24")])
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                              "--inside", logdir, KERNEL, str(seed)],
                             stdout=subprocess.PIPE, stderr=None, text=True)
        try:
            out, _ = p.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            stop_inside(p)
            return [("net harness", False, "the inside part took more than 400 s")]
        try:
            return [tuple(r) for r in json.loads(out)]
        except ValueError:
            return [("net harness", False, "inside part printed no results (exit %d)"
                     % p.returncode)]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return [("net harness", False, "%s: %s" % (e, getattr(e, "stderr", "")))]
    finally:
        if p is not None and p.poll() is None:   # a signal or an error stopped us
            stop_inside(p)
        kill_leftovers(logdir, ns)
        delete_netns(ns)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        exit_on_sigterm()  # a SIGTERM runs the finally blocks: nothing left running
        res = inside(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        print(json.dumps(res))
        sys.exit(0)
    t0 = time.time()
    results = run_all(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(ROOT, "build", "test-logs"))
    for n, ok, d in results:
        log(("PASS " if ok else "FAIL ") + n + ("" if ok else ": " + d))
    failed = sum(1 for _, ok, _ in results if not ok)
    print("%d passed, %d failed (%.0f s)" % (len(results) - failed, failed, time.time() - t0))
    sys.exit(1 if failed or not results else 0)
