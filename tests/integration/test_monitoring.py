"""The newer monitoring conditions, each driven through real syncs, deliveries and sandbox settings: the
provider's daily budget running low, the freshness objective missed, data quality past its thresholds,
HubSpot redelivering events; and two processes evaluating at once never open the same alert twice."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import DataQualityCheck, EventWebhookEvent, IntegrationNormalizedEvent, MonitorAlert
from console.models.base import utcnow
from console.monitoring import alerts, freshness
from console.monitoring.alerts import evaluate
from console.sandbox import SandboxConfig, SandboxServer
from console.sync import budget
from console.sync.inbound.runner import ensure_job
from console.webhooks import normalize
from console.webhooks.ingest import forget_secrets

from .. import factories
from ..reporting import sync


def _alerts(conn, kind: str) -> list[MonitorAlert]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(MonitorAlert).where(
        MonitorAlert.connection_id == conn.id, MonitorAlert.kind == kind).order_by(MonitorAlert.id)))


def _live_contacts(sb):
    conn = factories.hubspot_connection(sb.url, sb.token)
    conn.status = "live"
    job = ensure_job(conn, "contacts")
    job.enabled, job.depends_on = True, None
    db.session.commit()
    return conn, job


def _api(sb, method: str, path: str, **kw):
    resp = requests.request(method, f"{sb.url}{path}", headers={"Authorization": f"Bearer {sb.token}"},
                            timeout=10, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def _latest_check(conn) -> DataQualityCheck:
    db.session.expire_all()
    return db.session.scalar(sa.select(DataQualityCheck).where(DataQualityCheck.connection_id == conn.id)
                             .order_by(DataQualityCheck.id.desc()).limit(1))


def test_daily_budget_under_the_threshold_opens_escalates_and_resolves(app):
    with SandboxServer(SandboxConfig(contacts=30, deals=0, seed=4, limits=True, tier="starter")) as sb:
        conn, job = _live_contacts(sb)  # the alert threshold is 20% of the daily budget left
        requests.put(f"{sb.url}/_sandbox/limits", json={"daily_used": 215_000}, timeout=5).raise_for_status()
        sync(job)
        db.session.refresh(conn.account)
        assert conn.account.rate_limit_daily == 250_000
        assert 34_000 < conn.account.rate_limit_daily_remaining < 35_000  # what HubSpot's last answer said
        evaluate()
        [alert] = _alerts(conn, "rate_limit_daily")
        assert alert.severity == "warning" and "of the provider's daily API budget is left" in alert.message

        requests.put(f"{sb.url}/_sandbox/limits", json={"daily_used": 250_000}, timeout=5).raise_for_status()
        run = sync(job)  # HubSpot answers 429 DAILY: the run stops, the budget reads zero
        assert run.status == "failed" and "daily API limit" in run.error_message
        evaluate()
        [alert] = _alerts(conn, "rate_limit_daily")
        assert alert.severity == "critical" and alert.escalated_at is not None and "(0 of 250,000" in alert.message

        requests.put(f"{sb.url}/_sandbox/limits", json={"daily_used": 0}, timeout=5).raise_for_status()
        asked = requests.get(f"{sb.url}/_sandbox/info", timeout=5).json()["requests"]
        run = sync(job)  # the fleet's budget remembers the zero: no process asks HubSpot for 10 minutes
        assert run.status == "failed" and "daily call budget for this account is used up" in run.error_message
        assert requests.get(f"{sb.url}/_sandbox/info", timeout=5).json()["requests"] == asked
        with budget._engine(app.config["CALL_BUDGET_URL"]).begin() as c:  # ten minutes pass
            c.execute(sa.update(budget.budgets).values(daily_at=budget.budgets.c.daily_at - budget.DAILY_RECHECK_S))
        assert sync(job).status == "succeeded"  # a new day: the budget is back
        evaluate()
        assert _alerts(conn, "rate_limit_daily")[0].status == "resolved"


def test_a_stale_budget_reading_is_not_an_alert(app):
    with SandboxServer(SandboxConfig(contacts=10, deals=0, seed=4, limits=True)) as sb:
        conn, job = _live_contacts(sb)
        requests.put(f"{sb.url}/_sandbox/limits", json={"daily_used": 249_000}, timeout=5).raise_for_status()
        sync(job)
        evaluate(utcnow() + timedelta(hours=2))  # the last answer is two hours old: it may be yesterday's count
        assert _alerts(conn, "rate_limit_daily") == []


def test_freshness_objective_missed_then_met(app):
    with SandboxServer(SandboxConfig(contacts=40, deals=0, seed=4, limits=False)) as sb:
        conn, job = _live_contacts(sb)
        sync(job)  # the backfill: old records say nothing about freshness
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationNormalizedEvent).where(
            IntegrationNormalizedEvent.lag_ms.isnot(None))) == 0
        conn.freshness_target_seconds, conn.freshness_objective_pct = 1, 99
        db.session.commit()
        requests.post(f"{sb.url}/_sandbox/changes", json={"update": 25, "seed": 5}, timeout=10).raise_for_status()
        time.sleep(1.5)  # the changes wait longer than the 1-second target before the next run reads them
        run = sync(job)
        assert run.updated >= freshness.MIN_MEASURED  # a change may leave every mapped field as it was
        measured = freshness.attainment([conn], utcnow())[conn.id]
        assert measured.measured == run.updated and measured.within == 0 and measured.worst_ms >= 1500
        evaluate()
        [alert] = _alerts(conn, "freshness")
        assert alert.severity == "critical" and f"0.0% of the last day's {run.updated} changes" in alert.message

        conn.freshness_target_seconds = 120  # the objective the client agreed: 2 minutes
        db.session.commit()
        assert freshness.attainment([conn], utcnow())[conn.id].attainment_pct == 100.0
        evaluate()
        assert _alerts(conn, "freshness")[0].status == "resolved"


def test_data_quality_checks_follow_the_records_and_alert_past_thresholds(app):
    """On companies: HubSpot refuses a second contact with the same email, but not a second company with
    the same name, so that is where copies come from."""
    with SandboxServer(SandboxConfig(contacts=10, deals=0, companies=30, seed=4, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        job = ensure_job(conn, "companies", enabled=True)
        db.session.commit()
        sync(job)
        clean = _latest_check(conn)
        assert (clean.incomplete, clean.unresolved) == (0, 0) and clean.run_id is not None
        # thresholds the seed's own data meets, and one more copy breaks
        conn.quality_completeness_pct, conn.quality_unresolved_pct = 100, 0
        conn.quality_duplicate_pct = int(clean.pct(clean.duplicates)) + 1
        assert 100 * (clean.duplicates + 1) / (clean.records + 4) > conn.quality_duplicate_pct
        db.session.commit()
        evaluate()
        assert not [a for a in _alerts_of(conn) if a.kind.startswith("quality_")]

        first = _api(sb, "GET", "/crm/v3/objects/companies?limit=1&properties=name")["results"][0]
        made = [_api(sb, "POST", "/crm/v3/objects/companies", json={"properties": props})["id"] for props in (
            {"domain": "no-name.example.com"}, {"domain": "blank.example.com", "name": "  "},
            {"name": "Ghost Owner Ltd", "hubspot_owner_id": "987654321"},
            {"name": first["properties"]["name"].upper()})]
        sync(job)
        check = _latest_check(conn)
        assert (check.records, check.incomplete, check.unresolved, check.duplicates) == (
            clean.records + 4, 2, 1, clean.duplicates + 1)
        evaluate()
        kinds = {a.kind: a for a in _alerts_of(conn) if a.status == "open"}
        assert {"quality_completeness:companies", "quality_duplicates:companies",
                "quality_references:companies"} <= set(kinds)
        assert f"(2 of {clean.records + 4} held back)" in kinds["quality_completeness:companies"].message

        _api(sb, "PATCH", f"/crm/v3/objects/companies/{made[0]}", json={"properties": {"name": "Named Now Inc"}})
        _api(sb, "PATCH", f"/crm/v3/objects/companies/{made[1]}", json={"properties": {"name": "Named Too Inc"}})
        owner = _api(sb, "GET", "/crm/v3/owners/")["results"][0]["id"]
        _api(sb, "PATCH", f"/crm/v3/objects/companies/{made[2]}", json={"properties": {"hubspot_owner_id": owner}})
        _api(sb, "DELETE", f"/crm/v3/objects/companies/{made[3]}")
        sync(job)
        fixed = _latest_check(conn)
        assert (fixed.incomplete, fixed.unresolved, fixed.duplicates) == (0, 0, clean.duplicates)
        evaluate()
        assert all(a.status == "resolved" for a in _alerts_of(conn) if a.kind.startswith("quality_"))


def _alerts_of(conn) -> list[MonitorAlert]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(MonitorAlert).where(MonitorAlert.connection_id == conn.id)))


def test_redeliveries_raise_the_duplicate_rate_and_webhook_changes_are_measured(app, live_server):
    forget_secrets()
    with SandboxServer(SandboxConfig(contacts=40, deals=0, seed=11, limits=False)) as sb:
        conn, job = _live_contacts(sb)
        conn.account.set_secret("webhook_secret", sb.state.auth.oauth_app.client_secret)
        db.session.commit()
        sync(job)
        requests.put(f"{sb.url}/_sandbox/webhooks", json={"url": f"{live_server}/webhooks/hubspot", "version": "v3",
                                                          "duplicates": True}, timeout=5).raise_for_status()
        requests.post(f"{sb.url}/_sandbox/changes", json={"update": 15, "seed": 8}, timeout=10).raise_for_status()
        deadline = time.time() + 15
        while time.time() < deadline and requests.get(f"{sb.url}/_sandbox/info", timeout=5).json()[
                "webhooks"]["pending"]:
            time.sleep(0.1)
        time.sleep(0.3)
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(EventWebhookEvent))
        assert stored >= 15
        evaluate()
        [alert] = _alerts(conn, "duplicate_events")
        assert alert.severity == "critical" and "50% of the" in alert.message  # every batch arrived twice
        while normalize.process_due(200):
            pass
        lags = list(db.session.scalars(sa.select(IntegrationNormalizedEvent.lag_ms).where(
            IntegrationNormalizedEvent.source_kind == "webhook")))
        assert lags and all(lag is not None and lag < 60_000 for lag in lags)
        evaluate(utcnow() + timedelta(hours=2))  # the hour has passed with no repeats
        assert _alerts(conn, "duplicate_events")[0].status == "resolved"
    forget_secrets()


def test_two_processes_evaluating_at_once_open_one_alert(app, monkeypatch):
    """Evaluator A reads "no open alert"; evaluator B (another session, as another process) opens it and
    commits; A's insert then hits the unique open key, and its second pass finds B's row."""
    conn = factories.connection(factories.client(), status="live")
    db.session.commit()
    real, raced = alerts.findings, []

    def racing(c, now, facts=None):
        found = real(c, now, facts)
        if not raced:
            raced.append(True)
            other = threading.Thread(target=_evaluate_in_another_session, args=(app,))
            other.start()
            other.join()
        return found

    monkeypatch.setattr(alerts, "findings", racing)
    changes = evaluate()
    assert changes["opened"] == 0 and raced
    rows = _alerts(conn, "no_baseline")
    assert len(rows) == 1 and rows[0].status == "open" and rows[0].open_key == f"{conn.id}:no_baseline"
    assert evaluate()["opened"] == 0


def _evaluate_in_another_session(app) -> None:
    with app.app_context():
        from console.monitoring import alerts as module
        from console.monitoring.conditions import findings
        module.findings, saved = findings, module.findings
        try:
            assert evaluate()["opened"] == 1
        finally:
            module.findings = saved
            db.session.remove()
