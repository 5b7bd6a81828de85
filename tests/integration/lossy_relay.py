#!/usr/bin/python3
"""A seeded lossy link for tests: frames between QEMU's UDP socket netdev
(-netdev socket,udp=...,localaddr=...) and a tap device, with a schedule of
drops, duplicates, reorders, delays and corruptions drawn from a seeded
random generator, one decision per frame in each direction. The same seed
gives the same schedule; the decisions are logged (one line per frame:
direction, index, action) so a run can be compared with another.

  lossy_relay.py --tap TAP --qemu-port P --relay-port R --seed S --loss 0.05
                 [--dup 0.005] [--reorder 0.005] [--corrupt 0.002] [--delay-ms 0]
                 [--log FILE]

Run it inside the test's network namespace (the tap and the UDP ports live
there; nothing leaves it). Prints "relay: ready" on stderr when listening;
SIGTERM ends it and prints the counts as JSON on stdout.
"""
import argparse
import fcntl
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Schedule:
    """One decision per frame, from its own generator per direction."""
    def __init__(self, seed, direction, a):
        self.rng = random.Random("%d-%s" % (seed, direction))
        self.a = a
        self.n = 0

    def next(self):
        r = self.rng.random()
        k = self.rng.random()  # drawn every time: the schedule never shifts
        self.n += 1
        a = self.a
        if r < a.loss:
            return "drop", k
        r -= a.loss
        if r < a.dup:
            return "dup", k
        r -= a.dup
        if r < a.reorder:
            return "reorder", k
        r -= a.reorder
        if r < a.corrupt:
            return "corrupt", k
        return "pass", k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tap", required=True)
    ap.add_argument("--qemu-port", type=int, required=True)
    ap.add_argument("--relay-port", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--corrupt", type=float, default=0.0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--log")
    a = ap.parse_args()
    tap = open_tap(a.tap)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", a.relay_port))
    qemu = ("127.0.0.1", a.qemu_port)
    sched = {"to_guest": Schedule(a.seed, "to_guest", a), "to_host": Schedule(a.seed, "to_host", a)}
    counts = {d: {"pass": 0, "drop": 0, "dup": 0, "reorder": 0, "corrupt": 0} for d in sched}
    held = {d: None for d in sched}        # a frame held back to be sent after the next
    later = []                             # (time, seq, direction, frame): delayed frames
    seq = 0
    logf = open(a.log, "w") if a.log else None
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))

    def emit(direction, frame):
        if direction == "to_guest":
            u.sendto(frame, qemu)
        else:
            os.write(tap, frame)

    def send(direction, frame):
        nonlocal seq
        if a.delay_ms > 0:
            seq += 1
            heapq.heappush(later, (time.monotonic() + a.delay_ms / 1000, seq, direction, frame))
        else:
            emit(direction, frame)

    def handle(direction, frame):
        s = sched[direction]
        action, k = s.next()
        counts[direction][action] += 1
        if logf:
            logf.write("%s %d %s\n" % (direction, s.n, action))
        if action == "drop":
            return
        if action == "corrupt" and len(frame) > 34:
            i = 14 + int(k * (len(frame) - 14))   # a byte past the Ethernet header
            frame = frame[:i] + bytes([frame[i] ^ 0x5A]) + frame[i + 1:]
        if action == "reorder" and held[direction] is None:
            held[direction] = frame
            return
        send(direction, frame)
        if action == "dup":
            send(direction, frame)
        if held[direction] is not None:
            f, held[direction] = held[direction], None
            send(direction, f)

    print("relay: ready", file=sys.stderr, flush=True)
    while not stop[0]:
        timeout = 0.05
        if later:
            timeout = max(0.0, min(timeout, later[0][0] - time.monotonic()))
        try:
            r, _, _ = select.select([tap, u], [], [], timeout)
        except InterruptedError:
            continue
        if u in r:
            frame, _ = u.recvfrom(70000)
            handle("to_host", frame)
        if tap in r:
            handle("to_guest", os.read(tap, 70000))
        now = time.monotonic()
        while later and later[0][0] <= now:
            _, _, d, f = heapq.heappop(later)
            emit(d, f)
    if logf:
        logf.close()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
