#!/usr/bin/python3
"""Run the libFuzzer targets of the network stack (tests/fuzz/fuzz_net.c, and
tests/fuzz/fuzz_iperf.c for the iperf3 parameter parser, tests/fuzz/
fuzz_httpd.c for apps/httpd's request parser, tests/fuzz/fuzz_httppath.c
for the in-kernel responder's request targets) for a bounded time each, from
a seed corpus this script writes (valid ARP, ICMP, UDP, fragmented and DHCP
packets in the targets' record format; iperf3 3.12's parameter messages;
requests as curl and wrk send them, after one byte of piece size; for
tests/fuzz/fuzz_ext2.c, small ext2 and ext3 images made by mke2fs -d).

  tests/fuzz/run.py [--seconds N] [--targets frames,ipv4,dhcp,iperf,httpd,ext2,httppath]

Prints one JSON document on stdout (per target: runs, seconds, status) and
progress on stderr; exits 1 if a target crashed (its input is kept in
build/fuzz/artifacts/). make test runs it briefly; make fuzz for longer.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build", "fuzz")
US = bytes([10, 0, 0, 2])
PEER = bytes([10, 0, 0, 7])
MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000007")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(proto, data, frag=0, ident=1, src=PEER, dst=US):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + data


def eth(payload, etype=0x0800, dst=MAC):
    return dst + PEER_MAC + struct.pack("!H", etype) + payload


def rec(data, flags=0, split=14):
    return struct.pack("<BBH", flags, split, len(data)) + data


def icmp_echo(n):
    body = bytes(range(256)) * (n // 256 + 1)
    h = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + body[:n]
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def arp(op, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, PEER_MAC, PEER, bytes(6), tpa)


def dhcp(msgtype, xid=0, yiaddr=US):
    m = struct.pack("!BBBB4sHH4s4s4s4s16s64s128s4s", 2, 1, 6, 0, struct.pack("!I", xid), 0, 0,
                    bytes(4), yiaddr, bytes(4), bytes(4), MAC + bytes(10), bytes(64), bytes(128),
                    bytes.fromhex("63825363"))
    opts = bytes([53, 1, msgtype, 54, 4, 10, 0, 0, 1, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 0, 1,
                  51, 4, 0, 0, 14, 16, 255])
    return (m + opts).ljust(300, b"\0")


def seeds():
    big = icmp_echo(3000)
    frags = [ip(1, big[o:o + 1480], frag=(o // 8) | (0x2000 if o + 1480 < len(big) else 0),
                ident=9) for o in range(0, len(big), 1480)]
    return {
        "frames": {
            "arp_request": rec(eth(arp(1, US), 0x0806)),
            "arp_then_ping": rec(eth(arp(2, US), 0x0806)) + rec(eth(ip(1, icmp_echo(56))), split=34),
            "udp_echo": rec(eth(ip(17, udp(4000, 7, b"hello"))), split=42),
            "fragments": b"".join(rec(eth(f), flags=0, split=34) for f in frags),
            "dhcp_offer": rec(eth(ip(17, udp(67, 68, dhcp(2)))), flags=2, split=42),
        },
        "ipv4": {
            "ping": rec(ip(1, icmp_echo(100)), flags=4),
            "options": rec(bytes([0x46]) + ip(17, udp(1, 7, b"x"))[1:20] + bytes([1, 1, 1, 0]) +
                           udp(1, 7, b"x"), flags=4),
            "fragments": b"".join(rec(f, flags=4) for f in reversed(frags)),
            "udp_no_socket": rec(ip(17, udp(1, 9999, b"abc")), flags=4),
        },
        "dhcp": {
            "offer": rec(dhcp(2), flags=4),
            "ack": rec(dhcp(5), flags=4 | 0x10),
            "nak_bound": rec(dhcp(6), flags=4 | 0x20),
        },
        # what iperf3 3.12 sends (iperf -t 2; -R -P 4 -w 1M -C cubic -b 100M)
        "iperf": {
            "plain": b'{"tcp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":1,'
                     b'"len":131072,"pacing_timer":1000,"client_version":"3.12"}',
            "reverse": b'{"tcp":true,"omit":0,"time":2,"num":0,"blockcount":0,"parallel":4,'
                       b'"reverse":true,"window":1048576,"len":131072,"bandwidth":100000000,'
                       b'"pacing_timer":1000,"congestion":"cubic","client_version":"3.12"}',
            "results": b'{"cpu_util_total":2.33,"cpu_util_user":0.1,"cpu_util_system":2.2e-05,'
                       b'"sender_has_retransmits":1,"streams":[{"id":1,"bytes":52953088,'
                       b'"retransmits":0,"jitter":0,"errors":0,"packets":0,"start_time":0,'
                       b'"end_time":2.000213}]}',
        },
        # apps/httpd: one byte of piece size, then what clients send
        "httpd": {
            "curl": b"\x07GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
                    b"Accept: */*\r\n\r\n",
            "wrk_pipelined": b"\x20" + b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n" * 3,
            "conditional_range": b"\x03GET /1m?x=%2e HTTP/1.1\r\nHost: h\r\nRange: bytes=-500\r\n"
                                 b"If-None-Match: W/\"a\", \"5f-264\"\r\nIf-Range: \"5f-264\"\r\n"
                                 b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
            "head_http10": b"\x01HEAD /a%20b/./c/../d.html HTTP/1.0\nConnection: keep-alive\n\n",
            "post_body": b"\x0bPOST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                         b"GET http://h/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        },
        # the in-kernel responder's targets: one byte choosing the root and
        # the buffer's size, then the target
        "httppath": {
            "index": b"\x05/",
            "file": b"\x40/64k?x=1#f",
            "escapes": b"\x11/a%20b/%2e%2E/c.html",
            "deep": b"\x02/" + b"abc/" * 40 + b"index.html",
        },
    }


def ext2_seeds():
    """Small images of a tree with a file, a sparse file, a directory, a
    fast and a slow link: ext2 (96 KiB) and ext3 (a 1024-block journal)."""
    import shutil
    import tempfile
    tmp = tempfile.mkdtemp(prefix="caboose-fuzz-ext2-")
    try:
        src = os.path.join(tmp, "src")
        os.makedirs(os.path.join(src, "d", "e"))
        with open(os.path.join(src, "a"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(src, "d", "big"), "wb") as f:
            f.write(bytes(range(256)) * 60)
        with open(os.path.join(src, "sparse"), "wb") as f:
            f.truncate(100000)
        os.symlink("a", os.path.join(src, "fast"))
        os.symlink("y" * 100, os.path.join(src, "d", "slow"))
        out = {}
        for name, opts, size in (("ext2", ["-t", "ext2"], "96K"),
                                 ("ext3", ["-t", "ext3", "-J", "size=1"], "2200K")):
            img = os.path.join(tmp, name)
            subprocess.run(["mke2fs", "-q", "-F"] + opts + ["-b", "1024", "-N", "32", "-m", "0",
                            "-d", src, img, size], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            with open(img, "rb") as f:
                out[name] = f.read()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(name, seconds, log):
    binary = os.path.join(BUILD, "fuzz_" + name)
    if not os.access(binary, os.X_OK):
        return {"target": name, "status": "missing", "detail": binary + " not built"}
    corpus = os.path.join(BUILD, "corpus", name)
    art = os.path.join(BUILD, "artifacts", name) + os.sep
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(art, exist_ok=True)
    for sname, data in (ext2_seeds() if name == "ext2" else seeds()[name]).items():
        with open(os.path.join(corpus, "seed_" + sname), "wb") as f:
            f.write(data)
    t0 = time.monotonic()
    with open(log, "wb") as lf:
        p = subprocess.run([binary, "-max_total_time=%d" % seconds, "-rss_limit_mb=2048",
                            "-timeout=10", "-print_final_stats=1", "-artifact_prefix=" + art,
                            corpus], stdout=lf, stderr=subprocess.STDOUT,
                           timeout=seconds + 120)
    text = open(log, "rb").read().decode("utf-8", "replace")
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    cov = re.findall(r"cov: (\d+)", text)
    res = {"target": name, "seconds": round(time.monotonic() - t0, 1),
           "runs": int(runs[-1]) if runs else 0, "coverage": int(cov[-1]) if cov else 0,
           "status": "ok" if p.returncode == 0 else "crash", "log": log}
    if p.returncode != 0:
        res["detail"] = "\n".join(text.splitlines()[-25:])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--targets", default="frames,ipv4,dhcp,iperf,httpd,ext2,httppath")
    a = ap.parse_args()
    os.makedirs(BUILD, exist_ok=True)
    results = []
    for name in a.targets.split(","):
        print("fuzz: %s for %d s" % (name, a.seconds), file=sys.stderr, flush=True)
        r = run(name, a.seconds, os.path.join(BUILD, name + ".log"))
        print("fuzz: %s: %s, %s runs" % (name, r["status"], r.get("runs")), file=sys.stderr)
        results.append(r)
    print(json.dumps({"fuzz": results}, indent=1))
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
