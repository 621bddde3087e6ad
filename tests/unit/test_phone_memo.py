"""The phone transform's fast path (North American numbers as typed) answers exactly as phonenumbers
does: same E.164 value, same verdict, for every grouping, prefix and area code it accepts."""
from __future__ import annotations

import random

from console.mapping import transforms as t

GROUPINGS = ["({a}) {b}-{c}", "({a}){b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "{a} {b} {c}", "{a}{b}{c}", "{a}-{b}{c}",
             "{a} {b}-{c}", "{a}.{b}-{c}", "({a}) {b}{c}", "{a} {b}.{c}", "{a}{b} {c}"]
PREFIXES = ["", "1", "+1", "+1 ", "1 ", "+ 1", "11", "+11", "01", "+2"]
NOISE = ["", " ext. 12", " x3", "#", ".", " ", "-", "a", " ext 5", "ext.7", " x 77", "x9", " ext. 1234567", " EXT. 3",
         " ext. ", " x", " ext.. 4", " ext. 12 x 3", " ext.-4", "  ext. 4", " xt 4", " ext. ４"]


def corpus(n: int = 20000) -> list[str]:
    rng = random.Random(29)
    out = []
    for _ in range(n):
        a = f"{rng.randrange(1000):03d}" if rng.random() < 0.9 else f"{rng.randrange(100):02d}"
        b = f"{rng.randrange(1000):03d}" if rng.random() < 0.95 else f"{rng.randrange(10000):04d}"
        c = f"{rng.randrange(10000):04d}" if rng.random() < 0.95 else f"{rng.randrange(1000):03d}"
        text = rng.choice(PREFIXES) + rng.choice(GROUPINGS).format(a=a, b=b, c=c)
        if rng.random() < 0.3:
            text += rng.choice(NOISE)
        out.append(text)
    return out


def test_north_american_numbers_are_answered_as_phonenumbers_answers():
    fast = {"CA": 0, "US": 0}
    for region in ("CA", "US"):
        for text in corpus():
            assert t._phone(text, region) == t._parsed_phone(text, region), (text, region)
            fast[region] += bool(t.NANP_TYPED.fullmatch(text))
    # The corpus reaches the fast path often, and the slow one too (area codes 0 and 1, extensions, noise).
    assert all(3000 < count < 15000 for count in fast.values()), fast


def test_other_regions_and_shapes_go_to_phonenumbers():
    assert t._phone("020 7946 0958", "GB") == ("+442079460958", None)
    assert t._phone("416 555 0134 ext. 12", "CA") == ("+14165550134", None)
    assert t._phone("(416) 555-0134", "CA") == ("+14165550134", None)
    assert t._phone("12", "CA") == (None, "not a possible phone number")
