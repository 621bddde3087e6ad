"""Report notes an owner writes for the client: draft → published → withdrawn, every change audited."""
from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..choices import NoteStatus
from ..extensions import db
from ..models import IntegrationConnection, ReportNote, User
from ..models.base import utcnow
from ..refusals import Refused


class NoteRefused(Refused):
    pass


def notes_for(connection_id: int) -> list[ReportNote]:
    return list(db.session.scalars(sa.select(ReportNote).where(ReportNote.connection_id == connection_id)
                                   .order_by(ReportNote.id.desc())))


def published(connection_id: int) -> list[ReportNote]:
    return list(db.session.scalars(sa.select(ReportNote).where(
        ReportNote.connection_id == connection_id, ReportNote.status == NoteStatus.PUBLISHED.value,
    ).order_by(ReportNote.published_at.desc(), ReportNote.id.desc())))


def create(connection: IntegrationConnection, author: User, title: str, body: str) -> ReportNote:
    note = ReportNote(connection_id=connection.id, author_user_id=author.id, title=title.strip(),
                      body=body.strip(), status=NoteStatus.DRAFT.value)
    db.session.add(note)
    db.session.flush()
    audit.record("report_note.created", note, author, connection_id=connection.id, title=note.title)
    db.session.commit()
    return note


def edit(note: ReportNote, user: User, title: str, body: str) -> None:
    """Only a draft is edited: what a client has read changes only by withdrawing and publishing again."""
    if note.status != NoteStatus.DRAFT:
        raise NoteRefused("Only a draft can be edited. Withdraw the note first, edit it, then publish it again.")
    note.title, note.body = title.strip(), body.strip()
    audit.record("report_note.edited", note, user, title=note.title)
    db.session.commit()


def publish(note: ReportNote, user: User) -> None:
    if note.status == NoteStatus.PUBLISHED:
        raise NoteRefused("The note is already published.")
    note.status, note.published_at = NoteStatus.PUBLISHED.value, utcnow()
    audit.record("report_note.published", note, user, title=note.title)
    db.session.commit()


def withdraw(note: ReportNote, user: User) -> None:
    if note.status != NoteStatus.PUBLISHED:
        raise NoteRefused("Only a published note can be withdrawn.")
    note.status = NoteStatus.WITHDRAWN.value
    audit.record("report_note.withdrawn", note, user, title=note.title)
    db.session.commit()


def redraft(note: ReportNote, user: User) -> None:
    """A withdrawn note goes back to draft so it can be corrected and published again."""
    if note.status != NoteStatus.WITHDRAWN:
        raise NoteRefused("Only a withdrawn note can go back to draft.")
    note.status, note.published_at = NoteStatus.DRAFT.value, None
    audit.record("report_note.redrafted", note, user, title=note.title)
    db.session.commit()
