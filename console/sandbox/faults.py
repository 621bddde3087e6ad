"""Fault injection: deterministic under the seed, per endpoint, set at start or at run time."""
from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass

# repeat_token: a list answer names the paging token the request sent as its next one (a stuck cursor)
KINDS = {"429", "500", "502", "503", "reset", "slow", "timeout", "truncated", "malformed", "repeat_token"}


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0            # probability per matching request
    endpoint: str = "*"          # glob on the path, e.g. /crm/v3/objects/contacts*
    method: str | None = None    # GET, POST… or any
    count: int | None = None     # inject at most this many times (None: no limit)
    delay: float = 2.0           # seconds, for slow and timeout

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if not 0 <= float(self.rate) <= 1:
            raise ValueError("rate must be between 0 and 1")
        self.rate = float(self.rate)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and fnmatch.fnmatch(path, self.endpoint)


def parse_rule(spec: str) -> FaultRule:
    """`kind[:rate[:endpoint[:count]]]`, e.g. `429:0.2:/crm/v3/objects/*` (CLI form)."""
    parts = spec.split(":", 3)
    rule = FaultRule(kind=parts[0])
    if len(parts) > 1 and parts[1]:
        rule.rate = float(parts[1])
    if len(parts) > 2 and parts[2]:
        rule.endpoint = parts[2]
    if len(parts) > 3 and parts[3]:
        rule.count = int(parts[3])
    return rule


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.rules: list[FaultRule] = []
        self.injected: dict[str, int] = {}
        self.lock = threading.Lock()

    def set_rules(self, rules: list[FaultRule]) -> None:
        with self.lock:
            self.rules = list(rules)
            self.rng = random.Random(self.seed)

    def pick(self, method: str, path: str) -> FaultRule | None:
        if path.startswith("/_sandbox"):
            return None
        with self.lock:
            for rule in self.rules:
                if rule.count == 0 or not rule.matches(method, path):
                    continue
                if self.rng.random() < rule.rate:
                    if rule.count is not None:
                        rule.count -= 1
                    self.injected[rule.kind] = self.injected.get(rule.kind, 0) + 1
                    return rule
        return None

    def describe(self) -> dict:
        with self.lock:
            return {"rules": [asdict(r) for r in self.rules], "injected": dict(self.injected)}
