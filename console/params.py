"""Untrusted numbers from URLs and query strings, range-checked before they reach the database.

A path id beyond 64 bits overflows SQLite's integer binding and MariaDB's column types, and a huge
"since hours" overflows a timedelta: each would be a 500. Path ids out of range simply do not match a
route (404); query numbers out of range are treated as absent."""
from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # the widest primary key any engine stores (BIGINT); beyond it a bind overflows


class BoundedInt(IntegerConverter):
    """`<int:x>` that matches 0 to MAX_ID only."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def bounded(low: int = 1, high: int = MAX_ID) -> Callable[[str], int]:
    """A `type=` for request.args.get: ASCII digits within [low, high], else ValueError (the default)."""

    def parse(text: str) -> int:
        text = text.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 19:
            raise ValueError(text[:20])
        value = int(text)
        if not low <= value <= high:
            raise ValueError(text[:20])
        return value

    return parse


def selected_ids(values: list[str], most: int = 1000) -> list[int]:
    """Checkbox ids from a form: the valid ones (ASCII digits, within MAX_ID), at most `most` of them."""
    parse = bounded()
    out = []
    for value in values[:most]:
        try:
            out.append(parse(value))
        except ValueError:
            continue
    return out
