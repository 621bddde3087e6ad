"""Alert notifications to the connection owner's channel: email (SMTP from the environment) or a
Slack-compatible incoming webhook. One message per state change (opened or escalated, resolved; an
acknowledgement is not a change); a failed send is retried with backoff and its error is shown on the
alert, never dropped. Messages carry the alert's own words only: no secrets, no payloads."""
from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from ..choices import AlertStatus
from ..extensions import db
from ..models import IntegrationConnection, MonitorAlert
from ..models.base import require, utcnow
from ..security.outbound import OutboundFailed, OutboundRefused, post_json
from ..security.redact import redact_text
from ..sync.runs.claims import Lease, worker_id

log = logging.getLogger(__name__)
CLAIM = Lease(MonitorAlert, MonitorAlert.notify_claimed_by, MonitorAlert.notify_next_at, 60)


class NotifyFailed(Exception):
    pass


def wanted_state(alert: MonitorAlert) -> str:
    return "resolved" if alert.status == AlertStatus.RESOLVED else f"open:{alert.severity}"


def _text(alert: MonitorAlert, conn: IntegrationConnection) -> tuple[str, str]:
    if alert.status == AlertStatus.RESOLVED:
        subject = f"[Connector Console] resolved: {alert.kind} on {conn.name}"
    else:
        subject = f"[Connector Console] {alert.severity}: {alert.kind} on {conn.name}"
    body = f"{subject}\n\n{alert.message}\n\nClient: {conn.client.name}\nOpened: {alert.opened_at:%Y-%m-%d %H:%M} UTC\n"
    return subject, redact_text(body)


MAX_ADDRESSES = 10


def addresses(target: str) -> list[str]:
    """An email target's addresses: one or several, separated by commas, semicolons or spaces."""
    return [a for a in re.split(r"[,;\s]+", target) if a]


def send(alert: MonitorAlert, conn: IntegrationConnection) -> None:
    subject, body = _text(alert, conn)
    deliver(conn, subject, body)


def deliver(conn: IntegrationConnection, subject: str, body: str, to: list[str] | None = None) -> None:
    """A message through the connection's alert channel: its Slack webhook, or email to its target (to `to`
    instead, when given: a person the message is for). NotifyFailed says why it was not taken."""
    target = (conn.notify_target or "").strip()
    if not target:
        raise NotifyFailed("The connection has no notification target (wizard, monitor step).")
    if conn.notify_channel == "slack":
        # The same words for a refused, unreachable or failing target: nothing here probes an address.
        failed = NotifyFailed("The Slack webhook did not take the message; check the URL in the monitor step.")
        try:
            post_json(target, {"text": body}, tuple(current_app.config["NOTIFY_HOSTS"]),
                      "The Slack webhook URL", "CONSOLE_NOTIFY_HOSTS")
        except (OutboundRefused, OutboundFailed):
            raise failed from None
        return
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        raise NotifyFailed("No SMTP server is configured (CONSOLE_SMTP_HOST).")
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, cfg["SMTP_FROM"], ", ".join(to or addresses(target))
    msg.set_content(body)
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyFailed(f"SMTP: {type(exc).__name__}: {str(exc)[:200]}") from exc


def notify_pending(now=None, owner: str | None = None) -> dict[str, int]:
    """Send what changed since the last message of each alert; back off after a failure.

    The alerts to notify are claimed first (one UPDATE, sync/runs/claims.py), so two processes never both send
    the same message; the claim's lease is the alert's next-attempt time, and a process that dies mid-send
    leaves the alert due again once it runs out."""
    now = now or utcnow()
    owner = owner or worker_id()
    counts = {"sent": 0, "failed": 0}
    candidates = db.session.scalars(sa.select(MonitorAlert).where(
        sa.or_(MonitorAlert.status != AlertStatus.RESOLVED.value, MonitorAlert.notified_state.is_(None),
               MonitorAlert.notified_state != "resolved"), CLAIM.free(now)).order_by(MonitorAlert.id).limit(200)).all()
    changed = [alert.id for alert in candidates if alert.notified_state != wanted_state(alert)]
    for alert_id in CLAIM.claim(changed, owner, now=now):
        alert = require(MonitorAlert, alert_id)
        state = wanted_state(alert)
        if alert.notified_state == state:  # another process sent it between our read and our claim
            CLAIM.release(alert.id, owner)
            continue
        conn = require(IntegrationConnection, alert.connection_id)
        try:
            send(alert, conn)
        except NotifyFailed as failed:
            attempts = alert.notify_attempts + 1
            CLAIM.release(alert.id, owner, notify_attempts=attempts, notify_error=str(failed)[:500],
                          notify_next_at=now + timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1))))
            counts["failed"] += 1
            log.warning("alert %s notification failed: %s", alert.id, failed)
        else:
            CLAIM.release(alert.id, owner, notified_state=state, notify_attempts=0, notify_error=None)
            counts["sent"] += 1
    return counts
