"""The email transform's fast path (plain addresses, each domain validated once) answers exactly as
email-validator does on the whole address: same normalized value, same valid/invalid verdict."""
from __future__ import annotations

import random

from email_validator.rfc_constants import DOT_ATOM_TEXT

from console.mapping import transforms as t

ATEXT = "abcXYZ019_!#$%&'*+-/=?^`{|}~"
LABELS = ["example", "Mail", "x", "a-b", "-bad", "bad-", "ab--cd", "xn--bcher-kva", "xn--zz", "123", "l" * 63, "l" * 64,
          "sub.domain", "ex_ample"]
TLDS = ["com", "CA", "local", "localhost", "test", "invalid", "onion", "arpa", "123", "c0m", "x", "museum", ""]
EDGES = ["John.Doe@Example.COM", "a@b", "x@localhost", "a..b@x.com", ".a@x.com", "a.@x.com", "postmaster@x.com",
         "Postmaster@Example.com", "a@xn--bcher-kva.ch", "a@-x.com", "é@x.com", "a@x.local", "a@x.test", "a@x..com",
         "a@.x.com", "a@x.com.", "a@@x.com", '"a b"@x.com', "a b@x.com", "<a@x.com>", "Name <a@x.com>", "a@[1.2.3.4]",
         "a@x", "a@1.2.3.4", "a" * 64 + "@x.com", "a" * 65 + "@x.com", "a@" + ("l" * 60 + ".") * 4 + "com",
         "a" * 10 + "@" + ("l" * 60 + ".") * 4 + "com", "a@xn--.com", "a@XN--BCHER-KVA.CH", "a@x.co\u200b"]


def corpus(n: int = 6000) -> list[str]:
    rng = random.Random(17)
    out = list(EDGES)
    for _ in range(n):
        local = "".join(rng.choice(ATEXT + "..") for _ in range(rng.choice([1, 3, 8, 20, 64, 65, 70])))
        labels = [rng.choice(LABELS) for _ in range(rng.choice([1, 1, 2, 3, 5]))]
        domain = ".".join([*labels, rng.choice(TLDS)]).strip(".") if rng.random() < 0.95 else "x.com."
        out.append(f"{local}@{domain}")
    return out


def validator(text: str) -> tuple[str | None, str | None]:
    checked = t._validated(text)
    return (checked.normalized.lower(), None) if checked else (None, t.INVALID_EMAIL)


def test_plain_addresses_are_answered_as_the_validator_answers():
    fast = {"valid": 0, "invalid": 0}
    for text in corpus():
        assert t._email(text) == validator(text), text
        plain = t.PLAIN_EMAIL.fullmatch(text)
        if plain and DOT_ATOM_TEXT.match(plain.group(1)):
            fast["valid" if validator(text)[0] else "invalid"] += 1
    # The corpus reaches the fast path on both answers (long addresses, bad domains, special-use names).
    assert fast["valid"] > 500 and fast["invalid"] > 1000, fast


def test_the_memo_keeps_answers_apart():
    assert t._email("Ann@Example.com") == ("ann@example.com", None)
    assert t._email("ann@example.local") == (None, t.INVALID_EMAIL)
    assert t._email("bob@EXAMPLE.com") == ("bob@example.com", None)  # the domain's answer, not Ann's address
