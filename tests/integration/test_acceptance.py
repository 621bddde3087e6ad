"""The intake's acceptance criteria as checks from real figures: a real sync and reconciliation against
the sandbox, a stored record removed behind the console's back, and measured freshness."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from console.extensions import db
from console.models import CrmLead, CrmLeadEvent, IntegrationConnection, IntegrationNormalizedEvent
from console.models.base import utcnow
from console.sync.inbound.runner import ensure_job, execute, start_run
from console.sync.proof import reconcile
from console.wizard import acceptance

from .. import factories

CRITERIA = "counts match within 0.1%; p99 freshness 5 min; completeness at least 90%; duplicates under 1%"


def _reconcile(conn_id: int):
    conn = db.session.get(IntegrationConnection, conn_id)
    return reconcile.execute(reconcile.queue(conn, "contacts", "cli").id, "test")


def _checks(conn):
    return {c.criterion.kind: c for c in acceptance.evaluate(conn)}


def test_acceptance_criteria_are_checked_from_reconciliation_quality_and_freshness(login, sandbox):
    owner = login("owner")
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.owner_user_id = owner.user.id
    job = ensure_job(conn, "contacts", enabled=True)
    db.session.commit()
    owner.hx_post(f"/connections/{conn.id}/intake/answers/acceptance", {"acceptance": CRITERIA})
    checks = _checks(conn)
    assert list(checks) == ["counts", "freshness", "completeness", "duplicates"]
    assert all(c.met is None and c.figure.startswith("Not measured yet") for c in checks.values())

    run = start_run(job, "manual")
    execute(run, client_options={"backoff_base": 0.01, "timeout": 2.0})
    db.session.refresh(run)
    assert run.seen == 250
    assert _reconcile(conn.id).differences == 0
    checks = _checks(conn)
    assert checks["counts"].met is True and "Contacts: 0.00% differ (0 of 250" in checks["counts"].figure
    assert checks["completeness"].met is not None and "% complete" in checks["completeness"].figure
    assert checks["duplicates"].met is not None and "% duplicates" in checks["duplicates"].figure
    assert checks["freshness"].met is None  # a backfill measures no freshness

    # A stored record goes missing behind the console's back: 1 of 250 differs, 0.40% > 0.1%.
    gone = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id, CrmLead.archived.is_(False))).first()
    db.session.execute(sa.delete(CrmLeadEvent).where(CrmLeadEvent.lead_id == gone.id))
    db.session.delete(gone)
    db.session.commit()
    assert _reconcile(conn.id).differences == 1
    checks = _checks(conn)
    assert checks["counts"].met is False and "Contacts: 0.40% differ (1 of 250" in checks["counts"].figure

    # 30 changes measured in the last day, 27 within five minutes: 90.0% against p99 (not met), p80 (met).
    now = utcnow()
    db.session.add_all(IntegrationNormalizedEvent(
        connection_id=conn.id, source_kind="webhook", source_ref=f"k{i}", object_type="contacts", external_id=str(i),
        event_type="updated", summary={}, occurred_at=now, lag_ms=1_000 if i < 27 else 900_000,
        created_at=now - timedelta(minutes=i)) for i in range(30))
    db.session.commit()
    assert "90.0% of 30 changes within 5 min" in _checks(conn)["freshness"].figure
    assert _checks(conn)["freshness"].met is False
    owner.hx_post(f"/connections/{conn.id}/intake/answers/acceptance", {"acceptance": "p80 freshness 5 min"})
    assert [c.met for c in acceptance.evaluate(conn)] == [True]

    gate = owner.hx_get(f"/connections/{conn.id}/wizard/golive").get_data(as_text=True)
    assert 'id="gate-acceptance"' in gate and "p80 freshness 5 min: 90.0% of 30 changes within 5 min" in gate
