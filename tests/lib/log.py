"""Progress and errors for people: on stderr, one line each, flushed at
once (stdout is for results, ../shared/DESIGN.md principle 5)."""
import sys


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_log(prefix):
    """A log function whose lines start with `prefix: `."""
    def prefixed(msg):
        log("%s: %s" % (prefix, msg))
    return prefixed
