#!/usr/bin/python3
"""NIC echo test (issue 4): Caboose with a virtio-net NIC (two queue pairs,
-smp 2) on a multi-queue tap device inside a network namespace this test
creates. A raw AF_PACKET socket sends frames of the test EtherType 0x88b5 of
many sizes (60-1514 bytes) from many source MACs; the kernel (nictest=echo)
sends each back with the MAC addresses swapped. The test checks every byte,
then reads the driver's counters through the REPL: both CPUs transmitted on
their own queues, the rings wrapped many times, and no payload byte was
copied on the transmit path.

Needs root (network namespaces). From tests/run.py: run_all(logdir) returns
(name, ok, detail) results. Alone: python3 tests/integration/nic_test.py.
Nothing leaves the namespace: the tap has no address and no route.
"""
import json
import os
import random
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
from tests.lib import guest  # noqa: E402
from tests.lib.guest import Guest  # noqa: E402
from tests.lib.log import log  # noqa: E402
from tests.lib.netns import run_in_netns  # noqa: E402
from tests.lib.packet import csum  # noqa: E402
KERNEL = os.path.join(ROOT, "build", "caboose.elf")
ETH_P_TEST = 0x88B5
GUEST_MAC = bytes.fromhex("525400c0ffee")
PACKET_OUTGOING = 4
WATCHDOG_MS = 200   # the guest's stall bound (vnet.watchdog_ms)


ETH_P_ALL = 0x0003




def udp_packet(src, dst, sport, dport, data):
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(sa + da + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + udp


SOL_PACKET = 263
PACKET_VNET_HDR = 15


def lro_frame(payload, csum_partial=True, seq=1):
    """An Ethernet + IPv4 + TCP (to port 7) frame carrying payload, its TCP
    checksum left partial (the pseudo-header sum) as a GSO sender leaves it."""
    sa, da = socket.inet_aton("10.213.9.1"), socket.inet_aton("10.213.9.2")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = sa + da + struct.pack("!BBH", 0, 6, 20 + len(payload))
    tcp = struct.pack("!HHIIBBHHH", 40000, 7, seq, 1, 5 << 4, 0x18, 0xFFFF, 0, 0)
    c = (~csum(pseudo) & 0xFFFF) if csum_partial else csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    return GUEST_MAC + bytes.fromhex("0200000000dd") + b"\x08\x00" + ip + tcp + payload


def echo_of(frame):
    """What the kernel's echo service sends back for a frame we sent."""
    out = frame[6:12] + frame[0:6] + frame[12:]
    if frame[12:14] == b"\x08\x00":
        ip = bytearray(out[14:])
        ip[12:16], ip[16:20] = ip[16:20], ip[12:16]
        ip[20:22], ip[22:24] = ip[22:24], ip[20:22]
        out = out[:14] + bytes(ip)
    return out


def await_frame(s, match, timeout, resend=None):
    """The first incoming frame for which match(data) holds, or None. With
    resend, the frame is sent again every second until one comes back."""
    end = time.time() + timeout
    next_send = 0
    while time.time() < end:
        if resend is not None and time.time() >= next_send:
            s.send(resend)
            next_send = time.time() + 1
        try:
            data, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING and match(data):
            return data
    return None




# ---------------------------------------------------------------------------
# inside the namespace
# ---------------------------------------------------------------------------
def inside(logdir, count, seed, kernel, lro):
    results = []

    lro_on = lro
    tag = "nic" if lro else "nic-lro-off"

    def check(name, cond, detail=""):
        if not lro_on:
            name = name.replace("nic", "nic (large receive off)", 1)
        results.append((name, bool(cond), "" if cond else detail))

    console = os.path.join(logdir, tag + ".console.log")
    sock_path = os.path.join(logdir, tag + "-repl.sock")
    mon_path = os.path.join(logdir, tag + "-monitor.sock")
    for stale in (sock_path, console, mon_path):
        if os.path.exists(stale):
            os.unlink(stale)
    cmdline = "console=ttyS0 nictest=echo vnet.watchdog_ms=%d" % WATCHDOG_MS \
        + ("" if lro else " vnet.lro=off")
    q = guest.start(guest.qemu_argv(logdir, tag, 2, cmdline, kernel, repl=sock_path,
                                    monitor=mon_path,
                                    extra=guest.nic_args("tap0", queues=2,
                                                         mac="52:54:00:c0:ff:ee")),
                    logdir, tag)
    try:
        guest.wait_console(q, logdir, tag, b"caboose: ready")   # the checks say if not
        text = open(console, "rb").read().decode("utf-8", "replace")
        check("nic boot log names NIC, MAC, features, queue pairs",
              "vnet0: virtio-net at" in text and "52:54:00:c0:ff:ee" in text
              and "features taken:" in text and "2 queue pairs in use" in text,
              "\n".join(l for l in text.splitlines() if "vnet" in l)[-600:])

        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind(("tap0", ETH_P_ALL))
        s.settimeout(0.05)
        rng = random.Random(seed)
        sent = {}
        bad = []
        got = 0
        sizes = [60, 61, 64, 100, 128, 255, 256, 512, 1000, 1023, 1024, 1400, 1500, 1514]
        window = 32   # frames in flight

        def receive(block):
            nonlocal got
            try:
                data, addr = s.recvfrom(4096)
            except socket.timeout:
                return False
            if addr[2] == PACKET_OUTGOING:
                return True
            etype = struct.unpack("!H", data[12:14])[0]
            if etype == ETH_P_TEST:
                key = data[14:22]
            elif etype == 0x0800 and len(data) >= 50 and data[23] == 17:
                key = data[42:50]
            else:
                return True  # not ours (IPv6 neighbour discovery and the like)
            want = sent.pop(key, None)
            if want is None:
                bad.append("unexpected frame of %d bytes" % len(data))
            elif data != echo_of(want):
                bad.append("frame %s differs" % key.hex())
            else:
                got += 1
            return True

        t0 = time.time()
        for i in range(count):
            size = sizes[i % len(sizes)] if i < 2 * len(sizes) else rng.randint(60, 1514)
            src = bytes([0x02, 0x00, 0x00, rng.randrange(256), rng.randrange(256), i & 0xff])
            key = struct.pack("!Q", i)
            if i < count // 2:   # raw frames of the test EtherType
                payload = key + bytes(rng.randrange(256) for _ in range(size - 14 - 8))
                frame = GUEST_MAC + src + struct.pack("!H", ETH_P_TEST) + payload
            else:                # UDP to port 7 from many ports: many flows, many queues
                data = key + bytes(rng.randrange(256) for _ in range(max(0, size - 42 - 8)))
                frame = GUEST_MAC + src + struct.pack("!H", 0x0800) + udp_packet(
                    "10.213.9.1", "10.213.9.2", 1024 + rng.randrange(60000), 7, data)
            sent[key] = frame
            s.send(frame)
            while len(sent) >= window and receive(True):
                pass
            if i == 200 and got == 0:
                bad.append("nothing came back after 200 frames; giving up")
                break
            if len(sent) >= window:
                # lost ones stay in `sent`; do not stall forever
                oldest = min(sent)
                sent.pop(oldest)
                bad.append("no echo for frame %d" % struct.unpack("!Q", oldest)[0])
        end = time.time() + 10
        while sent and time.time() < end:
            receive(True)
        for k in sent:
            bad.append("no echo for frame %d" % struct.unpack("!Q", k)[0])
        elapsed = time.time() - t0
        log("nic: %d frames echoed of %d in %.1f s" % (got, count, elapsed))
        check("nic echo: every frame back, every byte right", got == count and not bad,
              "%d of %d back; %s" % (got, count, "; ".join(bad[:5])))

        g = Guest.attach(sock_path, q, open(os.path.join(logdir, tag + ".repl.log"), "wb"),
                            console)
        j = g.json("nic")
        qs = j["queues"]
        tx = {x["queue"]: x for x in qs if x["dir"] == "tx"}
        rx = {x["queue"]: x for x in qs if x["dir"] == "rx"}
        log("nic queues: " + json.dumps(qs))
        check("nic: each CPU transmitted on its own queue",
              len(tx) == 2 and all(tx[i]["packets"] > 0 for i in (0, 1))
              and sum(t["packets"] for t in tx.values()) >= count, json.dumps(tx))
        check("nic: both receive queues used", len(rx) == 2 and all(rx[i]["packets"] > 0 for i in (0, 1)),
              json.dumps(rx))
        wraps = sum(t["wraps"] for t in tx.values()) + sum(r["wraps"] for r in rx.values())
        check("nic: rings wrapped many times", wraps >= 10, "wraps %d" % wraps)
        check("nic: no drops", all(x["drops"] == 0 for x in qs), json.dumps(qs))
        # The split is fixed when a buffer is posted, so after the traffic
        # changes kind (raw frames, then UDP over both queues) at most one
        # ring's worth of already-posted buffers per queue misses; every
        # miss is one counted copy of its payload.
        hits = sum(r["hdr_hits"] for r in rx.values())
        misses = sum(r["hdr_misses"] for r in rx.values())
        miss_bytes = sum(r["miss_bytes"] for r in rx.values())
        check("nic: header-split misses bounded by stale posted buffers",
              hits + misses >= count and misses <= 3 * 256 + 16,
              "hits %d misses %d of %d" % (hits, misses, count))
        c = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
        # receive copies against the driver's misses, read at one quiet
        # moment (the host may send a stray frame between two REPL reads)
        for attempt in range(5):
            q1 = g.json("nic")["queues"]
            cc = {x["name"]: x["value"] for x in g.json("counters copy.")["counters"]}
            q2 = g.json("nic")["queues"]
            if q1 == q2:
                break
        mb = sum(x["miss_bytes"] for x in q2 if x["dir"] == "rx")
        me = sum(x["hdr_misses"] for x in q2 if x["dir"] == "rx")
        check("nic: receive copies are exactly the header-split misses",
              cc.get("copy.rx_miss", -1) == mb and cc.get("copy.rx_miss_events", -1) == me,
              "copy.rx_miss %s in %s events vs %d bytes in %d misses"
              % (cc.get("copy.rx_miss"), cc.get("copy.rx_miss_events"), mb, me))
        check("nic: the echo path reads requests in place (no rx_read copies)",
              c.get("copy.rx_read", -1) == 0, "copy.rx_read %s" % c.get("copy.rx_read"))
        check("nic: zero payload copies on transmit",
              c.get("copy.tx_write", -1) == 0 and c.get("copy.tx_linearize", -1) == 0,
              json.dumps({k: v for k, v in c.items() if k.startswith("copy")}))
        check("nic: every frame echoed by the kernel", c.get("nictest.echoed", 0) >= count,
              json.dumps({k: v for k, v in c.items() if k.startswith("nic")}))
        # a 64 KiB-class TCP segment the other way: the kernel builds it from
        # page references (no payload copy) and the device segments it (TSO);
        # the tap hands it to this socket whole
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.send(GUEST_MAC + bytes.fromhex("0200000000aa") + struct.pack("!H", ETH_P_TEST) +
               b"TSO!" + struct.pack("!H", 5001) + bytes(40))
        big = await_frame(s, lambda d: d[12:14] == b"\x08\x00" and len(d) > 60000
                          and d[36:38] == struct.pack("!H", 5001), 10)
        want = bytes(((k * 7 + 3) & 0xFF) for k in range(65000))
        check("nic: 64 KiB TSO send arrives whole with the right payload",
              big is not None and len(big) == 54 + 65000 and big[54:] == want,
              "got %s" % (len(big) if big else None))
        c3 = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
        check("nic: TSO send copied no payload",
              c3.get("nictest.tso_sent", 0) == 1 and c3.get("copy.tx_write", -1) == 0
              and c3.get("copy.tx_linearize", -1) == 0,
              json.dumps({k: v for k, v in c3.items() if k.startswith(("copy", "nictest"))}))
        c = c3

        # large receive: the host hands the tap one 60,000-byte TCP segment
        # (a GSO packet through a PACKET_VNET_HDR socket). With GUEST_TSO4 the
        # device passes it up coalesced, the header split off, the payload in
        # 15 page-aligned pages, and the echo service sends it back whole for
        # the device to segment again. Without, the host segments it and
        # every segment comes back on its own. The prediction is trained
        # first (a predicted length is fixed when a buffer is posted), so the
        # segment lands without a copy; the queue is chosen by the flow hash.
        rng2 = random.Random(seed + 1)
        big_payload = bytes(rng2.randrange(256) for _ in range(60000))
        for i in range(300):
            small = lro_frame(struct.pack("!I", i) + bytes(100), csum_partial=False)
            s.send(small)
            if i % 16 == 15:
                await_frame(s, lambda d, i=i: d[54:58] == struct.pack("!I", i), 2)
        time.sleep(0.5)
        rx0 = sum(x["miss_bytes"] for x in g.json("nic")["queues"] if x["dir"] == "rx")
        big_frame = lro_frame(big_payload, seq=1000000)
        v = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        v.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        v.bind(("tap0", ETH_P_ALL))
        # flags NEEDS_CSUM, gso TCPV4, hdr_len, gso_size, csum_start, csum_offset
        v.send(struct.pack("<BBHHHH", 1, 1, 54, 1448, 34, 16) + big_frame)
        v.close()
        want = echo_of(big_frame)
        if lro_on:
            back = await_frame(s, lambda d: d[12:14] == b"\x08\x00" and len(d) > 60000
                               and d[34:36] == struct.pack("!H", 7), 10)
            check("nic: a 60,000-byte segment received whole (large receive) is echoed byte for byte",
                  back is not None and len(back) == len(want) and back[:50] == want[:50]
                  and back[54:] == want[54:], "got %s" % (len(back) if back else None))
        else:
            got_data = b""
            end = time.time() + 10
            while len(got_data) < 60000 and time.time() < end:
                seg = await_frame(s, lambda d: d[12:14] == b"\x08\x00" and d[34:36] == b"\x00\x07"
                                  and struct.unpack("!I", d[38:42])[0] == 1000000 + len(got_data), 1)
                if seg is not None:
                    got_data += seg[54:14 + struct.unpack("!H", seg[16:18])[0]]
            check("nic: a 60,000-byte GSO send arrives as segments, every byte echoed",
                  got_data == big_payload, "got %d bytes" % len(got_data))
        rxq = [x for x in g.json("nic")["queues"] if x["dir"] == "rx"]
        # a stray small frame may miss the prediction; the large segment's
        # 60,000 payload bytes must not have been copied
        miss_bytes = sum(x["miss_bytes"] for x in rxq)
        large = sum(x["large"] for x in rxq)
        check("nic: large receives counted by the driver, split with no copy" if lro_on else
              "nic: no large receive when it is off",
              (large >= 1 and miss_bytes - rx0 < 1500) if lro_on else large == 0,
              "large %s, bytes copied on header-split misses %d (were %d)" %
              ([x["large"] for x in rxq], miss_bytes, rx0))

        # a flood from the kernel fills the transmit ring: the sender waits
        # and retries, and every frame arrives (no buffer lost)
        n_flood = 4000
        s.send(GUEST_MAC + bytes.fromhex("0200000000bb") + struct.pack("!H", ETH_P_TEST) +
               b"FLD!" + struct.pack("!IH", n_flood, 60) + bytes(36))
        seqs = set()
        end = time.time() + 30
        while time.time() < end and len(seqs) < n_flood:
            try:
                data, addr = s.recvfrom(4096)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING and data[12:14] == b"\x88\xb6":
                seqs.add(struct.unpack("!I", data[14:18])[0])
        c4 = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
        txq = {x["queue"]: x for x in g.json("nic")["queues"] if x["dir"] == "tx"}
        check("nic: flood of %d frames all arrive" % n_flood,
              seqs == set(range(n_flood)) and c4.get("nictest.flood_frames") == n_flood,
              "%d distinct of %d; kernel sent %s" % (len(seqs), n_flood, c4.get("nictest.flood_frames")))
        check("nic: the flood filled the transmit ring (and lost nothing)",
              c4.get("nictest.flood_ring_full_retries", 0) > 0
              and sum(t["ring_full"] for t in txq.values()) > 0,
              "retries %s, ring_full %s" % (c4.get("nictest.flood_ring_full_retries"),
                                            [t["ring_full"] for t in txq.values()]))
        ctr_all = {x["name"]: x["value"] for x in g.json("counters nic.")["counters"]}
        check("nic: a full ring sleeps on the queue's completion interrupt",
              ctr_all.get("nic.tx_full_waits", 0) > 0 and sum(t["irqs"] for t in txq.values()) > 0,
              "waits %s, tx irqs %s" % (ctr_all.get("nic.tx_full_waits"),
                                        [t["irqs"] for t in txq.values()]))
        # bursts larger than the receive ring (256) but smaller than the
        # tap's queue (set to 10000 below), so the host drops nothing and the
        # guest must refill and re-notify to see them all
        n_sink = 2000
        for burst in range(n_sink // 400):
            for i in range(400):
                s.send(GUEST_MAC + bytes.fromhex("0200000000cc") + struct.pack("!H", 0x88B7) +
                       bytes(46))
            time.sleep(0.3)
        end = time.time() + 10
        sunk = 0
        while time.time() < end:
            c5 = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
            sunk = c5.get("nictest.sink_frames", 0)
            if sunk >= n_sink:
                break
            time.sleep(0.2)
        check("nic: %d frames received and counted" % n_sink, sunk == n_sink, "sunk %d" % sunk)
        c = {x["name"]: x["value"] for x in g.json("counters")["counters"]}

        # link down and up (QEMU's set_link): the driver follows the
        # configuration interrupt, counts the changes, loses no buffer
        live0 = c.get("pkb.live", -1)

        def monitor(cmd):
            m = socket.socket(socket.AF_UNIX)
            m.connect(mon_path)
            m.settimeout(2)
            m.sendall(cmd.encode() + b"\n")
            time.sleep(0.5)
            try:
                m.recv(65536)
            except socket.timeout:
                pass
            m.close()

        monitor("set_link n0 off")
        time.sleep(0.5)
        n = g.json("nic")["nics"][0]
        check("nic: link down seen", n["link"] == "down" and n["link_changes"] >= 1, json.dumps(n))
        for i in range(20):   # sent into a dead link: nothing may come back
            s.send(GUEST_MAC + bytes(6) + struct.pack("!H", ETH_P_TEST) + bytes(46))
        time.sleep(0.5)
        monitor("set_link n0 on")
        time.sleep(0.5)
        n = g.json("nic")["nics"][0]
        check("nic: link up again", n["link"] == "up" and n["link_changes"] >= 2, json.dumps(n))
        frame = GUEST_MAC + bytes.fromhex("020000aabbcc") + struct.pack("!H", ETH_P_TEST) + \
            b"after-link-up" + bytes(40)
        s.send(frame)
        back = await_frame(s, lambda d: d[14:27] == b"after-link-up", 5)
        check("nic: echo works after link up", back == echo_of(frame), repr(back)[:100])
        # device reset: a malformed descriptor makes the device flag
        # NEEDS_RESET; the driver resets it, drops what it held, runs again
        s.send(GUEST_MAC + bytes.fromhex("0200000000ab") + struct.pack("!H", ETH_P_TEST) +
               b"RST!" + bytes(42))
        n = None
        end = time.time() + 15
        while time.time() < end:
            n = g.json("nic")["nics"][0]
            if n["resets"] >= 1:
                break
            time.sleep(0.3)
        check("nic: device reset recovered", n is not None and n["resets"] == 1, json.dumps(n))
        frame2 = GUEST_MAC + bytes.fromhex("020000aabbcd") + struct.pack("!H", ETH_P_TEST) + \
            b"after-reset!!" + bytes(40)
        back = await_frame(s, lambda d: d[14:27] == b"after-reset!!", 10, resend=frame2)
        check("nic: echo works after the device reset", back == echo_of(frame2), repr(back)[:80])

        # the watchdog: one lost receive interrupt, then one lost transmit
        # notification, each on a quiet link (nothing else would recover
        # them); the echo must come back within the stall bound plus one
        # look (the watchdog looks every half bound) and a margin for TCG
        def lost(what, counter, marker):
            def wd():
                return {x["name"]: x["value"] for x in g.json("counters nic.")["counters"]}
            before = wd()
            g.cmd("nic inject " + what)
            fr = GUEST_MAC + bytes.fromhex("020000aabbce") + struct.pack("!H", ETH_P_TEST) + \
                marker + bytes(40)
            t0 = time.time()
            s.send(fr)
            back = await_frame(s, lambda d: d[14:14 + len(marker)] == marker, 10)
            took = time.time() - t0
            after = wd()
            bound = 1.5 * WATCHDOG_MS / 1000 + 1.0
            check("nic: a %s is noticed and recovered by the watchdog within %.1f s" % (
                  "lost receive interrupt" if "irq" in what else "lost transmit notification",
                  bound),
                  back == echo_of(fr) and took <= bound and
                  after.get(counter, 0) - before.get(counter, 0) >= 1 and
                  after.get("nic.watchdog.resets", 0) == before.get("nic.watchdog.resets", 0),
                  "echo %s after %.2f s; counters before %s after %s" % (
                      "back" if back == echo_of(fr) else "missing", took, before, after))
        lost("drop-rx-irq", "nic.watchdog.rx_stalls", b"lost-irq!")
        lost("drop-tx-kick", "nic.watchdog.tx_stalls", b"lost-kick")
        text = open(console, "rb").read().decode("utf-8", "replace")
        check("nic: each watchdog recovery logged once with the ring's state",
              text.count("watchdog: rx queue") == 1 and text.count("watchdog: tx queue") == 1
              and "in flight): waking its poll thread" in text,
              "\n".join(l for l in text.splitlines() if "watchdog" in l)[-600:])

        # every live packet buffer is accounted for: posted for receive, or
        # waiting in a transmit ring to be reclaimed
        # (the watchdog reclaims a quiet transmit queue's completions: read
        # until the count holds still between two looks)
        for _ in range(20):
            c2 = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
            held = sum(x["inflight"] for x in g.json("nic")["queues"])
            c3 = {x["name"]: x["value"] for x in g.json("counters")["counters"]}
            if c2.get("pkb.live") == c3.get("pkb.live") == held:
                break
            time.sleep(0.3)
        posted = 64 if lro_on else 256   # receive buffers a queue keeps posted
        check("nic: no buffer lost across floods and link changes",
              c2.get("pkb.live", -2) == held and held >= 2 * posted - 2,
              "pkb.live %s, buffers in rings %d (before link changes: %s)"
              % (c2.get("pkb.live"), held, live0))
        g.sock.close()
        g.transcript.close()
        text = open(console, "rb").read().decode("utf-8", "replace")
        check("nic: link changes logged", "vnet0: link down" in text and "vnet0: link up" in text,
              "\n".join(l for l in text.splitlines() if "link" in l)[-300:])
        check("nic: no panic", "panic:" not in text, text[-500:])
    except Exception as e:
        check("nic harness", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if q.poll() is None:
            q.kill()
        q.wait()
    return results


# ---------------------------------------------------------------------------
# outside: make the namespace, run the inside part in it, clean up
# ---------------------------------------------------------------------------
def run_all(logdir, count=3000, seed=7):
    """Both receive modes: large receive on (64 KiB buffers), then off (one
    page a buffer, as with QEMU's user network)."""
    return (run_ns(logdir, count, seed, True) +
            run_ns(logdir, count, seed + 100, False))


def run_ns(logdir, count, seed, lro):
    os.makedirs(logdir, exist_ok=True)
    return run_in_netns("nic", __file__, [logdir, count, seed, KERNEL, "on" if lro else "off"],
                        [("tap0", True, None)])

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        from tests.lib.netns import exit_on_sigterm
        exit_on_sigterm()  # a SIGTERM runs the finally blocks: nothing left running
        res = inside(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                     sys.argv[6] == "on")
        print(json.dumps(res))
        sys.exit(0)
    results = run_all(os.path.join(ROOT, "build", "test-logs"))
    for n, ok, d in results:
        log(("PASS " if ok else "FAIL ") + n + ("" if ok else ": " + d))
    failed = sum(1 for _, ok, _ in results if not ok)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed or not results else 0)
