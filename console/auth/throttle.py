"""Sign-in throttling, stored in the database so every process agrees, and atomic under concurrency.

Each attempt is recorded *before* its password is checked, and then ranked against the failures
recorded before it (lower ids): forty parallel guesses rank 1 to 40, so only the first few are ever
checked, however the requests interleave. Three limits:
  * per (account, address): after LOGIN_MAX_FAILURES_PER_ACCOUNT failures, each further try waits a
    delay that doubles (1, 2, 4 … minutes, capped at the window); a success clears the pair;
  * per account from anywhere: past LOGIN_ACCOUNT_CEILING failures in the window, only addresses that
    signed in to the account before may try: a spray slows, the real owner is never locked out;
  * per address across accounts: LOGIN_MAX_FAILURES_PER_ADDRESS failures in the window."""
from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import LoginAttempt
from ..models.base import utcnow

KNOWN_ADDRESS_DAYS = 90


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def admit(email: str, address: str) -> tuple[LoginAttempt, int]:
    """Record this attempt as failed (until proven otherwise); return it and the minutes to wait (0: go)."""
    cfg, now = current_app.config, utcnow()
    window = timedelta(seconds=cfg["LOGIN_THROTTLE_WINDOW_SECONDS"])
    attempt = LoginAttempt(email=email, address=address, succeeded=False, created_at=now)
    db.session.add(attempt)
    db.session.commit()
    since = now - window
    failed = sa.and_(LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= since, LoginAttempt.id < attempt.id)

    last_ok = db.session.scalar(sa.select(sa.func.max(LoginAttempt.id)).where(
        LoginAttempt.email == email, LoginAttempt.address == address, LoginAttempt.succeeded.is_(True))) or 0
    pair, newest = db.session.execute(sa.select(sa.func.count(), sa.func.max(LoginAttempt.created_at)).where(
        failed, LoginAttempt.email == email, LoginAttempt.address == address, LoginAttempt.id > last_ok)).one()
    limit = cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    if pair >= limit:
        delay = min(window, timedelta(minutes=2 ** (pair - limit)))
        if now - newest < delay:
            return attempt, _minutes((newest + delay - now).total_seconds())

    account = db.session.scalar(sa.select(sa.func.count()).where(failed, LoginAttempt.email == email))
    if account >= cfg["LOGIN_ACCOUNT_CEILING"]:
        known = db.session.scalar(sa.select(LoginAttempt.id).where(
            LoginAttempt.email == email, LoginAttempt.address == address, LoginAttempt.succeeded.is_(True),
            LoginAttempt.created_at >= now - timedelta(days=KNOWN_ADDRESS_DAYS)).limit(1))
        if known is None:
            return attempt, _minutes(window.total_seconds())

    by_address, oldest = db.session.execute(sa.select(sa.func.count(), sa.func.min(LoginAttempt.created_at)).where(
        failed, LoginAttempt.address == address)).one()
    if by_address >= cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        return attempt, _minutes((oldest + window - now).total_seconds())
    return attempt, 0


def succeeded(attempt: LoginAttempt) -> None:
    attempt.succeeded = True
