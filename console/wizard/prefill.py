"""The intake fills in wizard fields instead of their being typed again. A field still at its default
takes the intake's value and says "From the intake"; a field someone already set keeps its value, and a
different intake value is shown beside it, never written over it."""
from __future__ import annotations

from typing import Any

from wtforms import Field

from .. import intake_reading
from ..models import IntegrationConnection, IntegrationSyncJob


def _offer(field: Field, stored: Any, default: Any, intake: Any, words: str, shown: str | None = None) -> None:
    """Pre-fill `field` with the intake's value when the stored one is still the default; else note a difference."""
    if intake is None or intake == stored:
        if intake is not None:
            field.description = f"Matches the intake ({words})."
        return
    if stored == default:
        field.data = intake
        field.description = f"From the intake ({words}); edit it if it should differ."
    else:
        field.description = f"The intake says {shown or intake} ({words}); the saved value stays until you change it."


def monitor(conn: IntegrationConnection, form: Any) -> None:
    """The freshness SLA, data-quality thresholds, the alert channel and the failure path's contacts."""
    answers = intake_reading.answers(conn.id)
    table = IntegrationConnection.__table__.c
    if "sla" in answers and (read := intake_reading.freshness(answers["sla"])):
        seconds, pct = read
        words = f'"{answers["sla"][:80]}"'
        _offer(form.freshness_target, conn.freshness_target_seconds, table.freshness_target_seconds.default.arg, seconds,
               words, f"{seconds} seconds")
        _offer(form.freshness_objective, conn.freshness_objective_pct, table.freshness_objective_pct.default.arg, pct,
               words, f"{pct}%")
    for name, value in intake_reading.quality(answers.get("quality", "")).items():
        column = {"completeness": "quality_completeness_pct", "duplicate_records": "quality_duplicate_pct",
                  "unresolved": "quality_unresolved_pct"}[name]
        _offer(getattr(form, name), getattr(conn, column), table[column].default.arg, value,
               f'"{answers["quality"][:80]}"', f"{value}%")
    if (chosen := intake_reading.channel(answers.get("alert_channels", ""))) is not None:
        _offer(form.channel, conn.notify_channel, table.notify_channel.default.arg, chosen,
               f'"{answers["alert_channels"][:80]}"')
    if answers.get("stakeholders") and not conn.failure_path.strip():
        form.failure_path.data = "Failed records retry, then wait for ops to replay them; the owner is alerted.\n" \
                                 f"Escalate to:\n{answers['stakeholders'][:1500]}"
        form.failure_path.description = "From the intake's stakeholders; edit it to say who is alerted and what happens next."


def jobs(conn: IntegrationConnection, form: Any, existing: dict[str, IntegrationSyncJob]) -> None:
    """The blackout window from the intake's blackouts, each object's direction from its topology."""
    answers = intake_reading.answers(conn.id)
    if (window := intake_reading.blackout(answers.get("blackouts", ""))) is not None:
        shown = intake_reading.blackout_text(window)
        _offer(form.blackout, form.blackout.data or "", "", shown, f'"{answers["blackouts"][:80]}"')
    text = answers.get("topology_flows", "")
    for object_type, direction in intake_reading.directions(text, conn.provider.name).items():
        field = getattr(form, f"{object_type}_direction", None)
        if field is None:
            continue
        job = existing.get(object_type)
        _offer(field, job.direction if job else "in", "in" if job is None else object(), direction,
               "topology", {"in": "provider to console", "out": "console to provider", "both": "both ways"}[direction])
