"""The pass/fail collector of the integration tests: one (name, ok, detail)
result per check in .items, each logged as PASS/FAIL on stderr as it
happens. r.check(name, cond, detail) or r(name, cond, detail) records one
and returns cond as a bool; the detail (made a string, cut to `limit`
characters if given) is kept for failures only, and logged for passes too
when verbose."""
from tests.lib.log import log


class Results:
    def __init__(self, prefix="", verbose=False, limit=None):
        self.prefix = prefix
        self.verbose = verbose
        self.limit = limit
        self.items = []

    def check(self, name, cond, detail=""):
        name = self.prefix + name
        detail = str(detail)[:self.limit] if self.limit else str(detail)
        self.items.append((name, bool(cond), "" if cond else detail))
        log(("PASS " if cond else "FAIL ") + name +
            (": " + detail if detail and (self.verbose or not cond) else ""))
        return bool(cond)

    __call__ = check
