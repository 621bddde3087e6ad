"""Errors with an owner: a sync error (or every open error of a group) assigned to a staff user, with a due
date and notes; the assignee told through the connection's alert channel (email to them, or its Slack
webhook naming them); every assignment and note audited."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from .. import audit
from ..choices import STAFF_ROLES, ErrorStatus
from ..extensions import db
from ..models import IntegrationConnection, IntegrationErrorNote, IntegrationSyncError, User
from ..models.base import require, utcnow
from ..monitoring.notify import NotifyFailed, deliver
from ..refusals import Refused

MAX_NOTE = 2000
MAX_GROUP = 5000  # errors one group assignment takes at most


def staff() -> list[User]:
    """Who can be assigned an error: active staff users."""
    return list(db.session.scalars(sa.select(User).where(
        User.role.in_([r.value for r in STAFF_ROLES]), User.active.is_(True)).order_by(User.name)))


def assignee_of(user_id: int | None) -> User | None:
    """The staff user an assignment names (None: unassign); anyone else is refused."""
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.role not in {r.value for r in STAFF_ROLES}:
        raise Refused("Errors are assigned to staff users only.")
    return user


def note(err: IntegrationSyncError, body: str, by: User | None, audited: bool = True) -> IntegrationErrorNote:
    text = (body or "").strip()
    if not text:
        raise Refused("Write the note first.")
    if len(text) > MAX_NOTE:
        raise Refused(f"A note is at most {MAX_NOTE:,} characters.")
    row = IntegrationErrorNote(error_id=err.id, user_id=by.id if by else None, body=text)
    db.session.add(row)
    if by is not None and audited:
        audit.record("error.noted", err, by, length=len(text))
    return row


def add_note(err: IntegrationSyncError, body: str, by: User) -> IntegrationErrorNote:
    """A person's note on an error, audited and committed."""
    row = note(err, body, by)
    db.session.commit()
    return row


def assign(errors: list[IntegrationSyncError], assignee: User | None, due: date | None, text: str,
           by: User) -> int:
    """Assign (or unassign) the errors; a note when given; the assignee told once for all of them.
    Commits; returns how many changed hands."""
    if not errors:
        raise Refused("No open error to assign.")
    now, changed = utcnow(), 0
    for err in errors:
        if err.assignee_user_id != (assignee.id if assignee else None) or err.due_on != due:
            changed += 1
        err.assignee_user_id, err.due_on = (assignee.id if assignee else None), due
        err.assigned_at, err.notice_error = (now if assignee else None), None
        if text.strip():
            note(err, text, by, audited=False)  # the assignment's one audit row says a note came with it
    audit.record("error.assigned", errors[0], by, errors=[e.id for e in errors][:100], count=len(errors),
                 assignee=assignee.email if assignee else None, due=due.isoformat() if due else None,
                 note=len(text.strip()) or None)
    db.session.commit()
    if assignee is not None and assignee.id != by.id:
        _tell(errors, assignee, due, by)
    return changed


def group(connection_id: int, object_type: str, code: str) -> list[IntegrationSyncError]:
    return list(db.session.scalars(sa.select(IntegrationSyncError).where(
        IntegrationSyncError.connection_id == connection_id, IntegrationSyncError.object_type == object_type,
        IntegrationSyncError.code == code,
        IntegrationSyncError.status.in_([ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value]))
        .order_by(IntegrationSyncError.id).limit(MAX_GROUP)))


def _tell(errors: list[IntegrationSyncError], assignee: User, due: date | None, by: User) -> None:
    """One message to the assignee per assignment; a failure is kept on the errors and shown there."""
    first = errors[0]
    conn = require(IntegrationConnection, first.connection_id)
    what = (f"{len(errors)} {first.object_type} errors ({first.code})" if len(errors) > 1
            else f"the {first.object_type} error #{first.id} ({first.code})")
    subject = f"[Connector Console] assigned to you: {what} on {conn.name}"
    body = (f"{assignee.name}, {by.name} assigned you {what} on {conn.name} ({conn.client.name})"
            + (f", due {due:%Y-%m-%d}" if due else "") + ".\n\nOpen it under Ops → Sync errors, filtered to yours.")
    try:
        deliver(conn, subject, body, to=[assignee.email])
    except NotifyFailed as failed:
        for err in errors:
            err.notice_error = f"{assignee.name} was not told: {failed}"[:300]
        db.session.commit()


def due_date(text: str) -> date | None:
    """A due date as the form sends it (YYYY-MM-DD), within ten years; empty: none."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        due = date.fromisoformat(text[:10]) if len(text) == 10 else None
    except ValueError:
        due = None
    if due is None or not date(2000, 1, 1) <= due <= date.today() + timedelta(days=3653):
        raise Refused("Give the due date as a calendar date (YYYY-MM-DD) within the next ten years.")
    return due


def notes_of(err: IntegrationSyncError) -> list[tuple[IntegrationErrorNote, str]]:
    """The error's notes, oldest first, each with who wrote it ("Connector Console" for the console's)."""
    rows = db.session.execute(sa.select(IntegrationErrorNote, User.name).outerjoin(
        User, User.id == IntegrationErrorNote.user_id).where(IntegrationErrorNote.error_id == err.id)
        .order_by(IntegrationErrorNote.id).limit(200)).all()
    return [(n, name or "Connector Console") for n, name in rows]


def read_form(form) -> tuple[User | None, date | None, str]:
    """(assignee, due date, note) from an assignment form; Refused with the reason for anything else."""
    raw = (form.get("assignee") or "").strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise Refused("Choose a staff user from the list.")
    return assignee_of(int(raw) if raw else None), due_date(form.get("due_on", "")), form.get("note", "")[:MAX_NOTE + 1]
