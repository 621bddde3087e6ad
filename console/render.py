"""Template helpers for tables of many rows, where a Jinja macro call or a `url_for` per cell adds up
(the ops dashboard renders 200 rows every 5 seconds). The `badge` and `when` macros of _macros/forms.html
call these, so each piece of HTML is written once."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import url_for
from markupsafe import Markup, escape

_MARKER = 918273645  # an id no row has, split out of one url_for


def id_url(endpoint: str, key: str) -> Callable[[int], str]:
    """`url_for(endpoint, key=value)` for any integer value, built from one url_for call."""
    values: dict[str, Any] = {key: _MARKER}
    head, _, tail = url_for(endpoint, **values).partition(str(_MARKER))
    return lambda value: f"{head}{int(value)}{tail}"


def badge(enum: Any, value: Any) -> Markup:
    """The `badge` macro: a choice's label in its tone."""
    return Markup(f'<span class="badge tone-{escape(enum.tone_of(value))}">{escape(enum.label_of(value))}</span>')


def when(dt: datetime | None) -> Markup:
    """The `when` macro: a naive UTC time as <time>, or a muted dash."""
    if not dt:
        return Markup('<span class="muted">—</span>')
    return Markup(f'<time datetime="{dt.isoformat()}Z">{dt.strftime("%Y-%m-%d %H:%M")} UTC</time>')  # digits only


__all__ = ["badge", "id_url", "when"]
