"""The processes a script started, and only those: LIVE holds their Popen
objects (append what you start), kill(proc) stops one by its own PID
(SIGTERM, SIGKILL after 5 s) and forgets it, and on_signal, installed for
SIGTERM and SIGINT, stops them all before the script exits."""
import subprocess
import sys

LIVE = []   # Popen objects we started; killed by their own PIDs only


def kill(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in LIVE:
        LIVE.remove(proc)


def on_signal(signum, _frame):
    for p in list(LIVE):
        kill(p)
    sys.exit(128 + signum)
