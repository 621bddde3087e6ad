"""How long each table keeps its rows. Defaults (issue 20) can be changed per table with
CONSOLE_RETENTION_DAYS="integration_raw_events=14,metric_snapshots=120"; "never" keeps a table whole."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..choices import RunStatus, WebhookStatus
from ..models import (
    AutomationRun,
    CsvImport,
    DataQualityCheck,
    EventWebhookEvent,
    IntegrationConnection,
    IntegrationNormalizedEvent,
    IntegrationRawEvent,
    IntegrationReconciliation,
    IntegrationRequestLog,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
    MetricBaseline,
    MetricSnapshot,
    WebhookRejection,
)


@dataclass(frozen=True)
class Policy:
    table: str
    model: Any
    days: int | None  # None: never removed
    time_column: str = "created_at"
    rollup: bool = False  # metric snapshots: past the age, only the day's last reading per series is kept
    # rows still referenced (model, column) are kept whatever their age: a baseline's run, an import's run
    referenced_by: tuple[tuple[Any, str], ...] = ()
    # only rows in these states are removed (a webhook event still being processed stays)
    states: tuple[str, ...] = ()
    state_column: str = "status"
    words: str = field(default="", compare=False)


DEFAULTS: tuple[Policy, ...] = (
    Policy("integration_raw_events", IntegrationRawEvent, 30, words="provider payloads as read"),
    Policy("integration_normalized_events", IntegrationNormalizedEvent, 30, words="what each change did"),
    Policy("integration_request_log", IntegrationRequestLog, 30, time_column="at",
           words="each run's calls to the provider (no bodies, no query values)"),
    Policy("event_webhook_events", EventWebhookEvent, 30,
           states=(WebhookStatus.NORMALIZED.value, WebhookStatus.IGNORED.value, WebhookStatus.DEAD_LETTER.value),
           words="webhook deliveries that are finished (normalized, ignored or dead-lettered)"),
    Policy("webhook_rejections", WebhookRejection, 30, words="refused webhook posts"),
    Policy("integration_sync_runs", IntegrationSyncRun, 400,
           referenced_by=((MetricBaseline, "captured_from_run_id"), (CsvImport, "run_id"),
                          (IntegrationSyncError, "run_id"), (IntegrationReconciliation, "repair_run_id"),
                          (AutomationRun, "trigger_run_id"), (IntegrationSyncJob, "last_run_id"),
                          (IntegrationConnection, "last_test_run_id")),
           states=(RunStatus.SUCCEEDED.value, RunStatus.PARTIAL.value, RunStatus.FAILED.value,
                   RunStatus.CANCELLED.value),
           words="finished sync runs no baseline, import, error or repair refers to"),
    Policy("data_quality_checks", DataQualityCheck, 400, words="data-quality checks"),
    Policy("automation_runs", AutomationRun, 400, referenced_by=((MetricSnapshot, "automation_run_id"),),
           words="report automation runs no kept snapshot refers to"),
    Policy("metric_snapshots", MetricSnapshot, 90, time_column="captured_at", rollup=True,
           words="metric readings; past the age, the last of each day is kept"),
    Policy("event_admin_actions", None, None, words="the audit log: never removed"),
)


def policies() -> list[Policy]:
    """The defaults with the configured overrides applied."""
    overrides = parse(current_app.config.get("RETENTION_DAYS") or "")
    out = []
    for p in DEFAULTS:
        if p.table in overrides and p.model is not None:
            p = Policy(**{**p.__dict__, "days": overrides[p.table]})
        out.append(p)
    return out


def parse(text: str) -> dict[str, int | None]:
    """"table=days,table=never" -> {table: days or None}; a malformed entry is an error at start-up."""
    out: dict[str, int | None] = {}
    known = {p.table for p in DEFAULTS if p.model is not None}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip().lower()
        if name not in known:
            raise ValueError(f"CONSOLE_RETENTION_DAYS: {name!r} is not a table with a retention policy")
        if value == "never":
            out[name] = None
        elif value.isdigit() and 1 <= int(value) <= 36_500:
            out[name] = int(value)
        else:
            raise ValueError(f"CONSOLE_RETENTION_DAYS: {part!r} needs a number of days (1-36500) or 'never'")
    return out
