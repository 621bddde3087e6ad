"""The one place that reads htmx request headers and writes htmx response headers."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, make_response, redirect, render_template, request


def is_partial() -> bool:
    """True for an htmx swap request; boosted navigation and history restores get full pages."""
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Boosted") != "true"
        and h.get("HX-History-Restore-Request") != "true"
    )


def render(page_template: str, partial: str, status: int = 200, **context: Any) -> Response:
    """Render the full page, or only its partial for an htmx request (the page includes it)."""
    resp = make_response(render_template(partial if is_partial() else page_template, **context), status)
    resp.headers.add("Vary", "HX-Request")
    return resp


def hx_redirect(url: str) -> Response:
    """Client-side redirect for htmx, a 303 for a plain form post."""
    if request.headers.get("HX-Request") == "true":
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, code=303)


def trigger(resp: Response, event: str, detail: Any = None) -> Response:
    """Attach an HX-Trigger event (merged with any already set)."""
    events = json.loads(resp.headers.get("HX-Trigger", "{}") or "{}")
    events[event] = detail if detail is not None else True
    resp.headers["HX-Trigger"] = json.dumps(events)
    return resp
