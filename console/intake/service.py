"""Saving intake answers (as they are typed) and attachments; reading them back for the page and the design."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import audit, blobs, intake_reading
from ..extensions import db
from ..intake_questions import MAX_ANSWER_CHARS, QUESTIONS, SECTIONS, Section
from ..models import IntakeAnswer, IntakeAttachment, IntegrationConnection, User
from ..models.base import utcnow
from ..refusals import Refused
from .samples import SampleRejected, read

MAX_ATTACHMENTS = 20


class IntakeRefused(Refused):
    pass


def answers(conn: IntegrationConnection) -> dict[str, IntakeAnswer]:
    return {a.question: a for a in db.session.scalars(sa.select(IntakeAnswer).where(
        IntakeAnswer.connection_id == conn.id))}


def save_answer(conn: IntegrationConnection, key: str, text: str, user: User) -> IntakeAnswer | None:
    """Keep the answer as typed (trailing spaces trimmed). An unchanged answer keeps who gave it and when;
    a blank one for a question never answered stays unanswered (None)."""
    if key not in QUESTIONS:
        raise IntakeRefused("There is no such question in the intake.")
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise IntakeRefused(f"Answers up to {MAX_ANSWER_CHARS:,} characters are kept; this one has {len(text):,}. "
                            "Attach a file instead.", field=key)
    user_id = user.id
    for attempt in (1, 2):
        row = db.session.scalar(sa.select(IntakeAnswer).where(IntakeAnswer.connection_id == conn.id,
                                                              IntakeAnswer.question == key))
        if row is None and not text:
            return None
        if row is not None and row.text == text:
            return row
        if key == SLA_QUESTION:
            _follow_sla(conn, row.text if row is not None else "", text)
        if row is None:
            row = IntakeAnswer(connection_id=conn.id, question=key, text=text, answered_by_user_id=user_id,
                               answered_at=utcnow())
            db.session.add(row)
        else:
            row.text, row.answered_by_user_id, row.answered_at = text, user_id, utcnow()
        if key == WITHHELD_QUESTION:
            conn.withheld_fields = field_names(text) or None
        elif key == MASKED_QUESTION:
            conn.masked_fields = field_names(text) or None
        audit.record("intake.answered", conn, question=key, characters=len(text))
        try:
            db.session.commit()
            return row
        except IntegrityError:  # the same question's first answer saved by someone else a moment ago
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


SLA_QUESTION = "sla"


def _follow_sla(conn: IntegrationConnection, before: str, after: str) -> None:
    """The freshness the console enforces follows the intake's SLA while it is the default or came from the
    intake's earlier answer; a value someone set on the monitor step stays. One truth: what the design
    states and the monitoring checks are the same numbers."""
    table = IntegrationConnection.__table__.c
    stored = (conn.freshness_target_seconds, conn.freshness_objective_pct)
    defaults = (table.freshness_target_seconds.default.arg, table.freshness_objective_pct.default.arg)
    new = intake_reading.freshness(after) if after else None
    if new is None or new == stored or stored not in (defaults, intake_reading.freshness(before) if before else None):
        return
    conn.freshness_target_seconds, conn.freshness_objective_pct = new
    audit.record("intake.sla_applied", conn, target_seconds=new[0], objective_pct=new[1])


# The answer naming the fields that must never leave the source becomes the connection's withheld
# fields at once: from then on no sync requests, maps, stores, logs or archives them.
WITHHELD_QUESTION = "never_leave"
# Likewise the fields that must never enter middleware logs: synced, but sensitive everywhere.
MASKED_QUESTION = "sensitive"
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")


def field_names(text: str) -> list[str]:
    """The field names an answer lists: the first word of each line or comma-separated item
    ("ssn (social insurance number)" names `ssn`); a line that starts with no name is left out."""
    names: list[str] = []
    for item in re.split(r"[\n,;]", text):
        match = FIELD_NAME.match(item.strip().lstrip("-*• ").strip("`'\""))
        if match and match.group(0) not in names:
            names.append(match.group(0))
    return names


@dataclass(frozen=True)
class Progress:
    section: Section
    answered: int
    total: int


def progress(conn: IntegrationConnection, given: dict[str, IntakeAnswer] | None = None) -> list[Progress]:
    given = answers(conn) if given is None else given
    return [Progress(s, sum(1 for q in s.questions if given.get(q.key) and given[q.key].text), len(s.questions))
            for s in SECTIONS]


# ---- attachments --------------------------------------------------------------------------------------
def attachments(conn: IntegrationConnection) -> list[IntakeAttachment]:
    return list(db.session.scalars(sa.select(IntakeAttachment).where(IntakeAttachment.connection_id == conn.id)
                                   .order_by(IntakeAttachment.id)))


def _key(conn_id: int, digest: str) -> str:
    return f"intake:{conn_id}:{digest}"


def _path(conn_id: int, digest: str) -> Path:
    return blobs.folder() / f"intake-{conn_id}-{digest}"


def attach(conn: IntegrationConnection, name: str, data: bytes, user: User) -> IntakeAttachment:
    """Read what the file says about the source's fields, then keep it where any node can read it."""
    limit = current_app.config["INTAKE_MAX_BYTES"]
    name = (Path(name or "").name or "attachment")[:255]
    if not data:
        raise IntakeRefused("The file is empty.", field="file")
    if len(data) > limit:
        raise IntakeRefused(f"The file is {len(data) / 2 ** 20:.1f} MB; attachments up to {limit / 2 ** 20:g} MB "
                            "are kept. Paste a share link in the answer instead.", field="file")
    digest = hashlib.sha256(data).hexdigest()
    same = db.session.scalar(sa.select(IntakeAttachment).where(IntakeAttachment.connection_id == conn.id,
                                                               IntakeAttachment.file_hash == digest))
    if same is not None:
        raise IntakeRefused(f"This file is already attached as {same.file_name}.", field="file")
    if len(attachments(conn)) >= MAX_ATTACHMENTS:
        raise IntakeRefused(f"A connection keeps up to {MAX_ATTACHMENTS} attachments; remove one first.", field="file")
    try:
        kind, fields = read(name, data)
    except SampleRejected as exc:
        raise IntakeRefused(f"{name}: {exc}", field="file") from exc
    row = IntakeAttachment(connection_id=conn.id, kind=kind, file_name=name, file_hash=digest, size_bytes=len(data),
                           fields=fields, uploaded_by_user_id=user.id)
    db.session.add(row)
    blobs.put(_key(conn.id, digest), data, _path(conn.id, digest))
    audit.record("intake.attached", conn, file_name=name, kind=kind, fields=len(fields), size_bytes=len(data))
    try:
        db.session.commit()
    except IntegrityError as exc:  # attached by someone else a moment ago
        db.session.rollback()
        raise IntakeRefused("This file was attached a moment ago.", field="file") from exc
    return row


def remove_attachment(conn: IntegrationConnection, attachment_id: int) -> str:
    row = db.session.get(IntakeAttachment, attachment_id)
    if row is None or row.connection_id != conn.id:
        raise IntakeRefused("That attachment is not on this connection.")
    name = row.file_name
    blobs.discard(_key(conn.id, row.file_hash), _path(conn.id, row.file_hash))
    db.session.delete(row)
    audit.record("intake.attachment_removed", conn, file_name=name)
    db.session.commit()
    return name
