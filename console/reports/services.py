"""The client report's changes that reach past the report itself: a baseline also moves the wizard's
checklist (its baseline item follows every metric's baseline)."""
from __future__ import annotations

from ..extensions import db
from ..metrics import baselines
from ..models import IntegrationConnection, IntegrationSyncRun, User
from ..wizard import readiness


def capture_baseline(conn: IntegrationConnection, run: IntegrationSyncRun | None, user: User, reason: str | None,
                     replace: bool) -> list:
    if run is None:
        raise baselines.BaselineRefused("That run does not exist.")
    created = baselines.capture(conn, run, user, reason, replace=replace)
    readiness.refresh(conn, user)
    db.session.commit()
    return created
