"""The prefetch merges pages already fetched into one write (the last page's cursor), never past its
limit and never past a page marked done, and hands a fetch failure over after the pages before it."""
from __future__ import annotations

import queue
import threading

import pytest

from console.connectors.base import Page, SourceRecord
from console.sync.inbound.runner import gather, prefetch


def pages(n: int, fail: bool = False, finished: threading.Event | None = None, done_at: int | None = None):
    try:
        for i in range(n):
            records = [SourceRecord(f"{i}-{j}", {}, i) for j in range(100)]
            yield Page(records, {"after": i}, done=(i == done_at))
        if fail:
            raise RuntimeError("the provider went away")
    finally:
        if finished is not None:
            finished.set()


def test_waiting_pages_are_written_together_with_the_last_cursor():
    finished = threading.Event()
    stream = prefetch(pages(6, finished=finished), depth=8, merge_up_to=250)
    first = next(stream)
    assert finished.wait(10), "the source did not finish"
    rest = list(stream)
    got = [first, *rest]
    sizes = [len(p.records) for p in got]
    assert sum(sizes) == 600 and max(sizes) <= 300  # the limit, overshot by less than one page
    # Once every page waits, they merge: each write but the last reaches the limit.
    assert len(rest) < (600 - sizes[0]) // 100 and all(n >= 250 for n in sizes[1:-1])
    for page in got:  # each merged page carries the cursor of its last record's page
        assert page.cursor == {"after": int(page.records[-1].external_id.split("-")[0])}
    ids = [r.external_id for p in got for r in p.records]
    assert ids == sorted(ids, key=lambda x: tuple(map(int, x.split("-"))))  # in order, none lost or repeated


def test_a_done_page_is_not_merged_past():
    finished = threading.Event()
    stream = prefetch(pages(4, finished=finished, done_at=1), depth=8, merge_up_to=1000)
    first = next(stream)
    assert finished.wait(10)
    got = [first, *stream]
    cut = next(i for i, p in enumerate(got) if p.cursor == {"after": 1})
    assert got[cut].done and sum(len(p.records) for p in got) == 400


def test_a_fetch_failure_comes_after_the_pages_before_it():
    finished = threading.Event()
    stream = prefetch(pages(3, fail=True, finished=finished), depth=8, merge_up_to=1000)
    seen = len(next(stream).records)
    assert finished.wait(10)
    with pytest.raises(RuntimeError, match="went away"):
        for page in stream:
            seen += len(page.records)
    assert seen == 300


def test_a_record_met_again_is_not_merged_into_the_page_that_holds_it():
    """A record changed while the run paged comes back in a later page: that page starts a new write,
    so both copies are decided in turn (created, then updated with its change), as without merging."""
    waiting: queue.Queue = queue.Queue()
    first = Page([SourceRecord(f"a{j}", {}, 1) for j in range(100)], {"after": 0})
    second = Page([SourceRecord(f"b{j}", {}, 1) for j in range(100)], {"after": 1})
    again = Page([SourceRecord("a7", {}, 2)] + [SourceRecord(f"c{j}", {}, 1) for j in range(99)], {"after": 2})
    for page in (second, again):
        waiting.put(page)
    merged, handed = gather(first, waiting, 1000)
    assert [r.external_id for r in merged.records] == [f"a{j}" for j in range(100)] + [f"b{j}" for j in range(100)]
    assert merged.cursor == {"after": 1} and handed is again  # the page with a7's new copy comes next, alone
    alone, nothing = gather(again, waiting, 1000)
    assert alone is again and nothing is None
