"""The run's compact version map answers exactly as a dict would, across growth, odd ids and rewrites."""
from __future__ import annotations

import random

from console.sync.inbound.versions import Versions


def test_the_compact_map_answers_as_a_dict_does():
    rng = random.Random(5)
    versions, truth = Versions(bits=4), {}  # a tiny table, so it grows many times
    ids = ([str(i) for i in range(1, 3000)] + [str(i * 1024) for i in range(3000)]  # shared low bits
           + [str(rng.randrange(10 ** 17, 10 ** 18)) for _ in range(3000)]
           + ["0", "007", "10" * 10, "999999999999999999", "1000000000000000000", "-5", "abc", "٣", "row-7", ""])
    for step in range(30_000):
        external_id = rng.choice(ids)
        if rng.random() < 0.6:
            ms, archived = rng.randrange(0, 2 ** 42), rng.random() < 0.1
            versions.put(external_id, ms, archived)
            truth[external_id] = Versions.pack(ms, archived)
        assert versions.get(external_id) == truth.get(external_id), (step, external_id)
    assert all(versions.get(x) == truth.get(x) for x in ids)
    assert len(versions) == len(truth)
    assert ("1" in versions) == ("1" in truth) and 5 not in versions


def test_a_hundred_thousand_ids_take_a_fraction_of_a_dict():
    versions = Versions()
    for i in range(100_000):
        versions.put(str(30_000_000_000 + i * 7), 1_700_000_000_000 + i, False)
    table_bytes = versions._ints.table_bytes
    assert len(versions) == 100_000 and table_bytes <= 4.2 * 2 ** 20  # a dict of ints: about 10 MB
    assert versions.get("30000000007") == Versions.pack(1_700_000_000_001, False)
