"""Step 3, mapping: "More objects" (wizard/more_objects.py), saved from its own form."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ...auth.access import role_required
from ...auth.forms import ActionForm
from ...choices import ConnectionStatus
from ...extensions import db
from .. import bp, more_objects
from .common import EDITORS, load
from .mapping import render_step

MAX_CHOSEN = 60  # offers are at most 3 standard objects and 50 custom ones


def _chosen() -> dict[str, int] | str:
    """The ticked objects with their minutes between runs, or why the form cannot be read."""
    chosen: dict[str, int] = {}
    for object_type in request.form.getlist("sync")[:MAX_CHOSEN + 1]:
        text = request.form.get(f"minutes::{object_type}", "").strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 4) or not 1 <= int(text) <= 1440:
            return "Give each object you sync a schedule between 1 and 1440 minutes."
        chosen[object_type] = int(text)
    return chosen if len(chosen) <= MAX_CHOSEN else "Too many objects chosen at once."


@bp.post("/<int:connection_id>/wizard/mapping/objects")
@role_required(*EDITORS)
def mapping_objects(connection_id: int):
    conn = load(connection_id, edit=True)
    chosen = _chosen()
    if not ActionForm().validate_on_submit():
        return render_step(conn, 400, message_at="objects", message_tone="error",
                           message="The form expired; reload the page and save again.")
    if isinstance(chosen, str):
        return render_step(conn, 422, message_at="objects", message_tone="error", message=chosen)
    try:
        unread = more_objects.save(conn, current_user, chosen)
    except more_objects.NotOffered as refused:
        db.session.rollback()
        return render_step(conn, 422, message_at="objects", message_tone="error", message=refused.message)
    message = "More objects saved" + ("; they sync on their schedules." if conn.status == ConnectionStatus.LIVE
                                      else ". Nothing syncs on schedule until the connection goes live.")
    if unread:
        message += (f" The fields of {', '.join(unread)} could not be read, so their default mappings wait: save "
                    "again once the connection check passes.")
    return render_step(conn, changed=True, message_at="objects", message=message)
