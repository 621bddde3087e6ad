"""The integration design: generated from the intake and the wizard's live configuration, in the
sections the agency walks the client through before any build work starts. Saved as numbered versions;
the owner records the client's sign-off, and the go-live gate shows whether the live configuration still
matches the signed version. Each version keeps a client-safe copy (generic words, no secrets, no samples)
for the portal."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..choices import PUSHING, Direction, SystemOfRecord
from ..extensions import db
from ..intake_questions import QUESTIONS, SECTIONS
from ..intake_reading import answers, blackout_text, freshness
from ..mapping import objects
from ..mapping.targets import target
from ..models import (
    DesignVersion,
    IntegrationConnection,
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    IntegrationSyncJob,
    User,
)
from ..models.base import utcnow
from ..refusals import Refused
from ..security.redact import redact_text
from ..sync.outbound.pusher import match_keys, match_label

# Answers that can hold credentials, internal ids or pasted samples: in the staff document only.
STAFF_ONLY = frozenset({"api_auth", "secrets_home", "instance_ids", "access", "api_spec", "source_schema", "endpoints"})
WORDS = {"trim": "as written", "none": "as written", "email": "checked as an email address and lower-cased",
         "phone_e164": "formatted as an international phone number", "datetime_utc": "read as a date and time, kept in UTC",
         "decimal": "read as a number (two decimals)", "enum": "mapped value by value", "case": "letter case normalised",
         "owner_name": "the owner's name", "stage_label": "the stage's name", "stage_state": "open, won or lost",
         "pipeline_label": "the pipeline's name", "currency_convert": "converted to the base currency",
         "concat": "joined from several fields", "split": "one part of a field"}
EDGE_CASES = {"email": "an address that is not valid holds the record for review",
              "phone_e164": "a value that cannot be a phone number holds the record for review",
              "datetime_utc": "a value that is not a date holds the record for review",
              "decimal": "a value that is not a number holds the record for review",
              "enum": "a value with no mapping holds the record until it is mapped or ignored"}


INTAKE = "Intake answers"  # the configuration's part holding a digest of each answer


class DesignRefused(Refused):
    pass


def _answers(conn: IntegrationConnection, client: bool) -> dict[str, str]:
    return {q: redact_text(t) for q, t in answers(conn.id).items() if not (client and q in STAFF_ONLY)}


def _jobs(conn: IntegrationConnection) -> list[IntegrationSyncJob]:
    return list(db.session.scalars(sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id)
                                   .order_by(IntegrationSyncJob.object_type)))


def _rules(conn: IntegrationConnection, object_type: str) -> list[IntegrationFieldMapping]:
    return list(db.session.scalars(sa.select(IntegrationFieldMapping).where(
        IntegrationFieldMapping.connection_id == conn.id, IntegrationFieldMapping.object_type == object_type)
        .order_by(IntegrationFieldMapping.position, IntegrationFieldMapping.id)))


def _flow(conn: IntegrationConnection, direction: str) -> str:
    provider = conn.provider.name
    return {Direction.OUTBOUND.value: f"the console to {provider} (one-way)",
            Direction.BOTH.value: f"both ways between {provider} and the console"}.get(
        direction, f"{provider} to the console (one-way)")


def _yours(answers: dict[str, str], *keys: str) -> list[str]:
    """The intake's own words for `keys`, one line per answered question."""
    return [f"{QUESTIONS[k].prompt}: {answers[k]}" for k in keys if k in answers]


# ---- the document --------------------------------------------------------------------------------------
def document(conn: IntegrationConnection, client: bool = False) -> dict[str, Any]:
    """The design as it reads now; `client` gives the client-safe copy."""
    answers, jobs = _answers(conn, client), [j for j in _jobs(conn) if j.enabled]
    withheld = list(conn.withheld_fields or [])
    sections = [
        _section("topology", "Topology and systems of record",
                 [f"{objects.label(j.object_type, conn.id)}: {_flow(conn, j.direction)}, every "
                  f"{max(1, j.schedule_seconds // 60)} minutes" + (f", after {objects.label(j.depends_on, conn.id).lower()}"
                                                                  if j.depends_on else "") + "." for j in jobs]
                 + _yours(answers, "topology_flows", "topology_records", "topology_systems")),
        _mapping(conn, jobs, answers, withheld, client),
        _section("sync_rules", "Sync rules",
                 ["Records are matched on the provider's record id; a record already stored is updated in place.",
                  "Newest wins: an older copy of a record never overwrites a newer one.",
                  *(f"{objects.label(j.object_type, conn.id)} only when: " + "; ".join(
                      f"{c.get('field')} {c.get('op')} {c.get('value', '')}".strip() for c in j.eligibility)
                    for j in jobs if j.eligibility),
                  *(f"{objects.label(j.object_type, conn.id)}: no scheduled run {blackout_text(j.blackout)} (blackout)."
                    for j in jobs if j.blackout),
                  *(f"{objects.label(j.object_type, conn.id)} created here are matched in {conn.provider.name} on "
                    + ", else ".join(match_label(k) for k in match_keys(j.object_type, j.match_on))
                    + ", so a record it already holds is updated, never duplicated." for j in jobs if j.direction in PUSHING)]
                 + _yours(answers, "matching", "lookups", "blackouts", "dependencies", "use_cases", "associations")),
        _section("reliability", "Reliability and backfill",
                 ["Each page of records is written in one transaction together with the sync's position: an "
                  "interruption replays the page, never loses it or writes it twice.",
                  "A record that cannot be stored is retried up to five times (after 5 minutes, doubling, at most 4 "
                  "hours), then waits for a person; every failure can be replayed.",
                  f"Calls stay within {conn.provider.name}'s rate limits; when it asks the sync to slow down, the sync waits.",
                  "The first sync reads every record (the backfill); later syncs read only what changed."]
                 + _yours(answers, "idempotency", "loop_prevention", "retries", "backfill")),
        _section("slas", "SLAs and acceptance",
                 [f"Freshness: changes reflected within {_duration(conn.freshness_target_seconds)}, "
                  f"{conn.freshness_objective_pct}% of the time{_sla_source(conn, answers.get('sla', ''))}.",
                  f"Data quality: required fields at least {conn.quality_completeness_pct}% complete, duplicates at most "
                  f"{conn.quality_duplicate_pct}%, records failing at most {conn.quality_unresolved_pct}%.",
                  f"Alerts by {conn.notify_channel or 'email'}."]
                 + _yours(answers, "quality", "acceptance", "monitoring", "alert_channels")),
        _section("compliance", "Compliance and governance",
                 ([f"Never leaves your system: {', '.join(withheld)} (never requested, stored, logged or archived)."]
                  if withheld else [])
                 + ([f"Never in logs: {', '.join(conn.masked_fields)} (synced, but kept out of raw events and archives "
                     "and hidden in error messages)."] if conn.masked_fields else [])
                 + _yours(answers, "sensitive", "consent", "retention")),
    ]
    if not client:
        sections.append(_section("environments", "Environments and access", _yours(
            answers, "hubspot_tier", "runtime", "secrets_home", "instance_ids", "endpoints", "api_auth", "api_limits",
            "api_changes", "access", "blockers")))
    return {"client": conn.client.name, "connection": conn.name, "provider": conn.provider.name,
            "generated_at": utcnow().strftime("%Y-%m-%d %H:%M UTC"), "sections": sections,
            "open_questions": open_questions(conn, answers)}


def _sla_source(conn: IntegrationConnection, sla: str) -> str:
    """Where the enforced freshness comes from: stated once, with the intake's words when they differ."""
    read = freshness(sla) if sla else None
    if read is None:
        return " (the console's default)" if not sla else f" (set on the monitor step; the intake's answer “{sla[:120]}” " \
            "names no time and percentage the console can read)"
    if read == (conn.freshness_target_seconds, conn.freshness_objective_pct):
        return " (the intake's SLA, which replaces the console's default)"
    return (f" (set on the monitor step, which holds over the intake's {_duration(read[0])}, {read[1]}%: change one "
            "so they agree)")


def _section(key: str, title: str, lines: list[str], tables: list[dict] | None = None) -> dict:
    return {"key": key, "title": title, "lines": lines, "tables": tables or []}


def _mapping(conn: IntegrationConnection, jobs: list[IntegrationSyncJob], answers: dict[str, str], withheld: list[str],
             client: bool) -> dict:
    tables, lines = [], []
    lowered = {w.lower() for w in withheld}
    for job in jobs:
        rows = []
        for rule in _rules(conn, job.object_type):
            if rule.source_field.lower() in lowered:
                continue
            how = WORDS.get(rule.transform, rule.transform) if client else (
                rule.transform + (f" {json.dumps(rule.transform_args)}" if rule.transform_args else ""))
            edge = "; ".join(x for x in ("an empty value holds the record for review" if rule.required else "",
                                         EDGE_CASES.get(rule.transform, ""),
                                         "masked in logs and error messages" if rule.sensitive else "") if x)
            known = target(job.object_type, rule.target_field)
            ours = (known.label if known else rule.target_field.replace("_", " ")) if client else rule.target_field
            rows.append(([] if client else [rule.source_field])
                        + [ours, how, edge or "—", Direction.label_of(rule.direction) + (
                            f"; {SystemOfRecord.label_of(rule.system_of_record).lower()} wins a conflict"
                            if rule.direction == Direction.BOTH.value else "")])
        enums = db.session.execute(sa.select(IntegrationEnumMapping.ignored, sa.func.count()).where(
            IntegrationEnumMapping.connection_id == conn.id, IntegrationEnumMapping.object_type == job.object_type)
            .group_by(IntegrationEnumMapping.ignored)).all()
        counts = {bool(ignored): n for ignored, n in enums}
        tables.append({"caption": objects.label(job.object_type, conn.id),
                       "head": ([] if client else [f"{conn.provider.name} property"])
                       + ["Our field", "Transformation", "Edge cases", "Direction"],
                       "rows": rows})
        if counts:
            lines.append(f"{objects.label(job.object_type, conn.id)}: {counts.get(False, 0)} picklist values mapped, "
                         f"{counts.get(True, 0)} ignored.")
    return _section("mapping", "Field-by-field mapping", lines + _yours(answers, "transformations", "picklists"), tables)


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 and seconds >= 60 else f"{seconds} seconds"


def open_questions(conn: IntegrationConnection, answers: dict[str, str] | None = None) -> list[dict]:
    """Every unanswered intake question the design depends on (one that feeds a step or a section),
    flagged to confirm together."""
    answers = _answers(conn, False) if answers is None else answers
    return [{"section": f"{s.number}. {s.title}", "prompt": q.prompt}
            for s in SECTIONS for q in s.questions if q.feeds and q.key not in answers]


# ---- the configuration a version describes -------------------------------------------------------------
def configuration(conn: IntegrationConnection) -> dict[str, Any]:
    """The live configuration, by part: what a signed design promises and the gate compares."""
    parts: dict[str, Any] = {}
    for job in _jobs(conn):
        label = objects.label(job.object_type, conn.id)
        parts[f"{label} sync job"] = {"enabled": job.enabled, "direction": job.direction, "every": job.schedule_seconds,
                                      "only_when": job.eligibility or [], "blackout": job.blackout,
                                      "after": job.depends_on, **({"match": job.match_on} if job.match_on else {})}
        parts[f"{label} mapping"] = sorted(
            [r.source_field, r.target_field, r.transform, r.transform_args or {}, r.required, r.sensitive, r.direction,
             r.system_of_record, r.condition] for r in _rules(conn, job.object_type))
        parts[f"{label} picklist values"] = sorted([e.source_field, e.source_value, e.target_value, e.ignored]
                                                   for e in db.session.scalars(sa.select(IntegrationEnumMapping).where(
                                                       IntegrationEnumMapping.connection_id == conn.id,
                                                       IntegrationEnumMapping.object_type == job.object_type)))
    parts["Monitoring thresholds"] = {k: getattr(conn, k) for k in (
        "freshness_target_seconds", "freshness_objective_pct", "quality_completeness_pct", "quality_duplicate_pct",
        "quality_unresolved_pct", "notify_channel")}
    parts["Fields that never leave the source"] = sorted(conn.withheld_fields or [])
    parts["Fields that never enter logs"] = sorted(conn.masked_fields or [])
    parts[INTAKE] = {q: hashlib.sha256(t.encode()).hexdigest()[:16] for q, t in answers(conn.id).items()}
    return json.loads(json.dumps(parts, default=str))  # as stored: what the gate compares with


def fingerprint(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def version(conn: IntegrationConnection, number: int) -> DesignVersion | None:
    return db.session.scalar(sa.select(DesignVersion).where(DesignVersion.connection_id == conn.id,
                                                            DesignVersion.number == number))


def versions(conn: IntegrationConnection) -> list[DesignVersion]:
    return list(db.session.scalars(sa.select(DesignVersion).where(DesignVersion.connection_id == conn.id)
                                   .order_by(DesignVersion.number.desc())))


def save_version(conn: IntegrationConnection, user: User) -> DesignVersion:
    config = configuration(conn)
    content = document(conn)
    latest = db.session.scalar(sa.select(DesignVersion).where(DesignVersion.connection_id == conn.id)
                               .order_by(DesignVersion.number.desc()).limit(1))
    if latest is not None and latest.fingerprint == fingerprint(config) and _same(latest.content, content):
        raise DesignRefused(f"Nothing changed since version {latest.number}.")
    row = DesignVersion(connection_id=conn.id, number=(latest.number + 1) if latest else 1, content=content,
                        client_content=document(conn, client=True), configuration=config,
                        fingerprint=fingerprint(config), saved_by_user_id=user.id)
    db.session.add(row)
    audit.record("design.version_saved", conn, user, number=row.number)
    db.session.commit()
    return row


def _same(old: dict, new: dict) -> bool:
    return {**old, "generated_at": None} == {**new, "generated_at": None}


def sign_off(conn: IntegrationConnection, number: int, user: User, by: str, how: str, at: datetime) -> DesignVersion:
    row = version(conn, number)
    if row is None:
        raise DesignRefused("There is no such version of this design.")
    by, how = by.strip(), how.strip()
    if not by or not how:
        raise DesignRefused("Say who signed off for the client and how (an email, a call, a meeting).",
                            field="by" if not by else "how")
    if at > utcnow():
        raise DesignRefused("A sign-off cannot be in the future.", field="at")
    if at.date() < row.created_at.date():
        raise DesignRefused(f"A sign-off cannot come before version {number} was saved "
                            f"({row.created_at:%Y-%m-%d}).", field="at")
    if row.signed_off_at is not None:
        raise DesignRefused(f"Version {number} was already signed off by {row.signed_off_by}.")
    row.signed_off_at, row.signed_off_by, row.signed_off_how = at, by[:200], how[:500]
    row.sign_off_recorded_by_user_id = user.id
    audit.record("design.signed_off", conn, user, number=number, by=row.signed_off_by, how=row.signed_off_how)
    db.session.commit()
    return row
