"""Sign-in throttling per account and per address, stored in the database so every process agrees."""
from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import LoginAttempt
from ..models.base import utcnow


def _failures(column: sa.ColumnElement, value: str, since, reset_on_success: bool):
    """Failures in the window and the oldest one's time.

    An account's count restarts at its own successful sign-in; an address's does not, or an
    attacker could clear it by signing in to an account of their own between guesses.
    """
    start = since
    if reset_on_success:
        last_ok = db.session.scalar(
            sa.select(sa.func.max(LoginAttempt.created_at)).where(
                column == value, LoginAttempt.succeeded.is_(True), LoginAttempt.created_at >= since
            )
        )
        start = max(since, last_ok) if last_ok else since
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(LoginAttempt.created_at)).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= start
        )
    ).one()
    return count, oldest


def blocked_for(email: str, address: str) -> int:
    """Minutes the caller must wait, or 0 when a sign-in attempt may proceed."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOGIN_THROTTLE_WINDOW_SECONDS"])
    since = utcnow() - window
    waits = []
    for column, value, limit, reset in (
        (LoginAttempt.email, email, cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"], True),
        (LoginAttempt.address, address, cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"], False),
    ):
        count, oldest = _failures(column, value, since, reset)
        if count >= limit:
            waits.append((oldest + window - utcnow()).total_seconds())
    return max(1, math.ceil(max(waits) / 60)) if waits else 0


def note_attempt(email: str, address: str, succeeded: bool) -> None:
    db.session.add(LoginAttempt(email=email, address=address, succeeded=succeeded))
