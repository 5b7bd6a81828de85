"""The pass/fail collector of the integration tests: one (name, ok, detail)
result per check, each logged as PASS/FAIL on stderr as it happens."""
from tests.lib.log import log


class Results:
    def __init__(self, prefix):
        self.prefix = prefix
        self.items = []

    def check(self, name, cond, detail=""):
        name = self.prefix + name
        self.items.append((name, bool(cond), "" if cond else detail))
        log(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
        return bool(cond)
