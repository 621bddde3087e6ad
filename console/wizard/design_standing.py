"""Where the live configuration stands against the newest design version the client signed off: the
parts that changed since, named (a mapping, a job, a threshold, an intake answer), for the gate and the
design page."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..intake_questions import QUESTIONS
from ..models import DesignVersion, IntegrationConnection
from .design import INTAKE, configuration


@dataclass(frozen=True)
class Standing:
    """Where the live configuration stands against the newest signed design."""
    signed: DesignVersion | None
    changed: list[str]  # the parts that differ from the signed version

    @property
    def matches(self) -> bool:
        return self.signed is not None and not self.changed


def standing(conn: IntegrationConnection) -> Standing:
    signed = db.session.scalar(sa.select(DesignVersion).where(
        DesignVersion.connection_id == conn.id, DesignVersion.signed_off_at.is_not(None))
        .order_by(DesignVersion.number.desc()).limit(1))
    if signed is None:
        return Standing(None, [])
    now, then = configuration(conn), signed.configuration
    changed = sorted(k for k in set(now) | set(then) if k != INTAKE and now.get(k) != then.get(k))
    if INTAKE in then:  # versions signed before the intake was part of the configuration compare without it
        was, new = then[INTAKE], now[INTAKE]
        changed += [f"the intake's “{QUESTIONS[q].prompt}”" for q in sorted(set(was) | set(new))
                    if was.get(q) != new.get(q) and q in QUESTIONS]
    return Standing(signed, changed)
