"""Reading the provider's inventory for a comparison: in chunks, the next ones read in a thread while this
one is compared."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from itertools import islice

from ...connectors.base import SourceRecord

_END = object()


def chunks(records: Iterator[SourceRecord], size: int) -> Iterator[list[SourceRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk


def ahead(chunks: Iterator[list[SourceRecord]], depth: int = 4) -> Iterator[list[SourceRecord]]:
    """The next chunks are read from the provider (HTTP, in a thread) while this one is compared: the wait
    for the provider overlaps the mapping. A failure of the reader is raised here, in the caller."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for chunk in chunks:
                put(chunk)
                if stop.is_set():
                    return
            put(_END)
        except BaseException as exc:  # handed to the caller, which raises it
            put(exc)

    reader = threading.Thread(target=produce, name="reconcile-inventory", daemon=True)
    reader.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)
