"""How views answer a service's refusal (console/refusals.py): beside the form field it concerns, or, when
a view did not catch it, as a 422 that shows the message where the page shows request errors."""
from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from htmx_flask import make_response

from .extensions import db
from .refusals import Refused


def beside(form: Any, refused: Refused, default_field: str) -> None:
    """Undo the refused change and put its message beside its field (the view then answers 422)."""
    db.session.rollback()
    field = getattr(form, refused.field or default_field, None)
    if field is None or not hasattr(field, "errors"):
        field = getattr(form, default_field)
    field.errors.append(refused.message)


def refused(err: Refused) -> Response:
    db.session.rollback()
    if getattr(request, "htmx", None):
        body = render_template("partials/refused.html", refused=err)
        return make_response(body, 422, retarget="#request-error", reswap="outerHTML")
    return Response(render_template("errors/error.html", code=422, message=err.message), 422)
