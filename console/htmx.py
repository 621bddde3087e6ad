"""Our htmx helpers, on top of htmx-flask: `request.htmx` reads the request headers and
`htmx_flask.make_response` writes the response headers; nothing here reads or writes HX-* by hand."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, redirect, render_template, request
from htmx_flask import make_response
from werkzeug.wrappers import Response as ResponseBase


def is_partial() -> bool:
    """True for an htmx swap request; boosted navigation and history restores get full pages."""
    hx = getattr(request, "htmx", None)
    return hx is not None and bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page_template: str, partial: str, status: int = 200, *, hx_events: list[str] | None = None,
           **context: Any) -> Response:
    """Render the full page, or only its partial for an htmx request (the page includes it). `hx_events`
    are htmx events for the panels that depend on what changed (`hx-trigger="… from:body"`)."""
    body = render_template(partial if is_partial() else page_template, **context)
    resp = make_response(body, status, trigger=dict.fromkeys(hx_events, True) if hx_events else None)
    resp.headers.add("Vary", "HX-Request")
    return resp


def hx_redirect(url: str) -> ResponseBase:
    """Client-side redirect for htmx, a 303 for a plain form post."""
    if getattr(request, "htmx", None):
        return make_response("", 204, redirect=url)
    return redirect(url, code=303)


def trigger(resp: Response, *events: str) -> Response:
    """Add htmx events to an answer (merged with any it already carries)."""
    current = resp.headers.get("HX-Trigger") or "{}"
    merged = json.loads(current) if current.startswith("{") else {current: True}
    merged.update(dict.fromkeys(events, True))
    return make_response(resp, trigger=merged)
