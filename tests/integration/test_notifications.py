"""Alert notifications arrive at a local SMTP sink and a local HTTP (Slack-style) sink, exactly once per
state change; a failing target is retried, and its error is shown."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import IntegrationSyncJob, IntegrationSyncRun, MetricBaseline, MonitorAlert
from console.models.base import utcnow
from console.monitoring.alerts import evaluate
from console.monitoring.notify import notify_pending

from .. import factories
from ..sinks import HttpSink, SmtpSink


@pytest.fixture
def conn(app):
    """A live connection (only live ones go stale) whose deals job last succeeded 16 minutes ago; it has
    its baseline, so staleness is the only condition that holds."""
    c = factories.connection(factories.client("Harbour Physio"), live=True)
    db.session.flush()
    job = IntegrationSyncJob(connection_id=c.id, object_type="deals", enabled=True, schedule_seconds=300,
                             last_success_at=utcnow() - timedelta(minutes=16))
    db.session.add(job)
    db.session.flush()
    run = IntegrationSyncRun(job_id=job.id, connection_id=c.id, object_type="deals", kind="backfill",
                             status="succeeded", finished_at=utcnow() - timedelta(minutes=16))
    db.session.add(run)
    db.session.flush()
    db.session.add(MetricBaseline(connection_id=c.id, metric_key="open_pipeline", value=Decimal("100"), unit="money",
                                  period="Open deals now", captured_from_run_id=run.id))
    db.session.commit()
    return c


def _stale_job(conn) -> IntegrationSyncJob:
    return db.session.scalar(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))


def test_email_once_per_state_change(app, conn):
    sink = SmtpSink()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        conn.notify_channel, conn.notify_target = "email", "owner@example.com"
        db.session.commit()
        evaluate()
        assert notify_pending()["sent"] == 1
        assert notify_pending()["sent"] == 0 and len(sink.messages) == 1  # no repeat while nothing changes
        evaluate(utcnow() + timedelta(minutes=20))  # escalates to critical
        notify_pending()
        _stale_job(conn).last_success_at = utcnow()
        db.session.commit()
        evaluate()
        notify_pending()
        notify_pending()
        subjects = [m.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for m in sink.messages]
        assert subjects == ["[Connector Console] warning: stale_sync:deals on Harbour Physio CRM",
                            "[Connector Console] critical: stale_sync:deals on Harbour Physio CRM",
                            "[Connector Console] resolved: stale_sync:deals on Harbour Physio CRM"]
        assert all(b"To: owner@example.com" in m for m in sink.messages)
    finally:
        sink.close()


def test_email_goes_to_every_address_of_the_target(app, conn):
    sink = SmtpSink()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        conn.notify_channel, conn.notify_target = "email", "owner@example.com, sam.lee@agency.example; pat@example.com"
        db.session.commit()
        evaluate()
        assert notify_pending()["sent"] == 1
        assert sink.recipients == [["owner@example.com", "sam.lee@agency.example", "pat@example.com"]]
        assert b"To: owner@example.com, sam.lee@agency.example, pat@example.com" in sink.messages[0]
    finally:
        sink.close()


def test_slack_webhook_failure_is_retried_and_shown(app, conn, login):
    sink = HttpSink(statuses=[500])
    try:
        conn.notify_channel, conn.notify_target = "slack", sink.url
        db.session.commit()
        evaluate()
        assert notify_pending() == {"sent": 0, "failed": 1}
        alert = db.session.scalar(sa.select(MonitorAlert))
        assert alert.notify_attempts == 1 and "did not take the message" in alert.notify_error
        assert "Notification failed (1×)" in login("ops").get("/ops/alerts").get_data(as_text=True)
        assert notify_pending()["sent"] == 0  # backing off
        assert notify_pending(utcnow() + timedelta(minutes=1)) == {"sent": 1, "failed": 0}
        db.session.refresh(alert)
        assert alert.notify_error is None and alert.notified_state == "open:warning"
        texts = [c.body for c in sink.wait_for(2)]
        assert b"stale_sync:deals" in texts[1] and b"token" not in texts[1].lower()
    finally:
        sink.close()


def test_no_smtp_configured_is_a_visible_failure(app, conn):
    conn.notify_channel, conn.notify_target = "email", "owner@example.com"
    db.session.commit()
    evaluate()
    assert notify_pending()["failed"] == 1
    assert "CONSOLE_SMTP_HOST" in db.session.scalar(sa.select(MonitorAlert)).notify_error
