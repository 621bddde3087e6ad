"""The intake fills in wizard fields instead of their being typed again. A field still at its default
takes the intake's value and says "From the intake"; a field someone already set keeps its value, and a
different intake value is shown beside it, never written over it. What would write to the client's CRM
(a direction out or both ways, match keys, who wins a two-way field) is never pre-filled: it is shown as
a proposal with "Use this" (proposals.py), which a person applies."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from wtforms import Field

from .. import intake_reading
from ..choices import ObjectType
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncJob, User
from . import proposals


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


def _propose(field: Field, stored: Any, found: proposals.Proposal | None, provider: str) -> None:
    """Show what the intake proposes beside `field` (the template adds "Use this"); never set it."""
    if found is None:
        return
    if found.value == stored:
        field.description = f"Matches the intake ({found.words})."
        return
    field.description = (f"The intake proposes {found.shown} ({found.words}). It writes to {provider}, "
                         "so it is not set until you use it.")
    field.proposal = found


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
    people = intake_reading.stakeholders(answers.get("stakeholders", ""))
    named = [e.lower() for e in intake_reading.EMAIL.findall(answers.get("alert_channels", "")[:intake_reading.READ_CHARS])]
    contacts = named or intake_reading.alert_contacts(people)  # "Where alerts go" first, else the stakeholders
    if contacts and form.channel.data == "email":
        owner = conn.owner.email.lower() if conn.owner else ""
        wanted = ", ".join(dict.fromkeys([*([owner] if owner else []), *contacts]))
        words = ("where alerts go: the owner and the addresses it names" if named else
                 "stakeholders: the owner, the technical owners and the day-to-day contact")
        _offer(form.target, (conn.notify_target or "").lower(), "", wanted, words)
    if answers.get("stakeholders") and not conn.failure_path.strip():
        form.failure_path.data = "Failed records retry, then wait for ops to replay them; the owner is alerted.\n" \
                                 f"Escalate to:\n{answers['stakeholders'][:1500]}"
        form.failure_path.description = "From the intake's stakeholders; edit it to say who is alerted and what happens next."


def jobs(conn: IntegrationConnection, form: Any, existing: dict[str, IntegrationSyncJob]) -> None:
    """The blackout window from the intake's blackouts, each object's direction from its topology, its
    match keys from the matching rules and what it runs after from the dependency order."""
    answers = intake_reading.answers(conn.id)
    _schedule(form, existing, answers.get("sla", ""))
    _matching(conn, form)
    for object_type, first in intake_reading.dependencies(answers.get("dependencies", "")).items():
        field = getattr(form, f"{object_type}_after", None)
        if field is not None:
            _offer(field, field.data, field.default, first, f'"{answers["dependencies"][:80]}"',
                   ObjectType.label_of(first).lower())
    if (window := intake_reading.blackout(answers.get("blackouts", ""))) is not None:
        shown = intake_reading.blackout_text(window)
        _offer(form.blackout, form.blackout.data or "", "", shown, f'"{answers["blackouts"][:80]}"')
    text = answers.get("topology_flows", "")
    writes = proposals.directions(conn)
    for object_type, direction in intake_reading.directions(text, conn.provider.name).items():
        field = getattr(form, f"{object_type}_direction", None)
        if field is None:
            continue
        job = existing.get(object_type)
        stored = job.direction if job else "in"
        if object_type in writes:
            _propose(field, stored, writes[object_type], conn.provider.name)
        else:  # inbound writes nothing to the CRM: offered like any other value
            _offer(field, stored, "in" if job is None else object(), direction, "topology",
                   proposals.DIRECTION_WORDS[direction])


def _matching(conn: IntegrationConnection, form: Any) -> None:
    """Match keys from "Contacts matched on email, fallback to external_id": proposed when the form has
    that order among its choices; otherwise the intake's words are shown beside the field."""
    for object_type, found in proposals.matching(conn).items():
        field = getattr(form, f"{object_type}_match", None)
        if field is None:
            continue
        if found.value in dict(field.choices):
            _propose(field, field.data, found, conn.provider.name)
        else:
            field.description = f"The intake says {found.words}; choose the nearest of these."


def owner(conn: IntegrationConnection, form: Any) -> None:
    """The integration owner: the stakeholder whose address is a console owner's or admin's (the choices)."""
    people = intake_reading.stakeholders(intake_reading.answers(conn.id).get("stakeholders", ""))
    if not people:
        return
    by_email = {u.email.lower(): u for u in db.session.scalars(sa.select(User).where(
        User.id.in_([c[0] for c in form.owner_id.choices])))}
    found = next((by_email[p.email] for p in people if p.email in by_email), None)
    if found is not None:
        _offer(form.owner_id, conn.owner_user_id, None, found.id, "stakeholders", found.name)


def records_of(conn: IntegrationConnection, object_type: str, rows: dict, text: str) -> list[dict]:
    """The intake's systems of record (`text`, its answer) for this object, each with the mapped fields it
    names (none: the line names a group, like "demographics", to set field by field). The other objects are
    only read, so no system of record applies to them."""
    from ..mapping.objects import CORE
    from ..mapping.targets import TARGETS

    if object_type not in CORE:
        return []
    out = []
    for what, winner in intake_reading.systems_of_record(text, conn.provider.name):
        obj = intake_reading.object_named(what)
        if obj is not None and obj != object_type:
            continue
        fields = [t.label for t in TARGETS[object_type]
                  if proposals.names_field(what, object_type, t, rows[t.name].source_field if t.name in rows else None)]
        out.append({"what": what, "winner": winner, "fields": fields})
    return out


def system_of_record(conn: IntegrationConnection, object_type: str, target: Any, source: str | None, form: Any) -> None:
    """Who wins a two-way field's conflicts, from the intake's systems of record naming the field: proposed."""
    found = proposals.record(conn, object_type, target.name,
                             lambda what: proposals.names_field(what, object_type, target, source))
    _propose(form.system_of_record, form.system_of_record.data, found, conn.provider.name)


def _schedule(form: Any, existing: dict[str, IntegrationSyncJob], sla: str) -> None:
    """A schedule that can keep the freshness SLA: a change waits up to one interval plus the run, so the
    interval is at most half the target. A new job takes it; a saved slower one is flagged, never changed."""
    read = intake_reading.freshness(sla) if sla else None
    if read is None:
        return
    most = max(1, read[0] // 120)
    words = f'the SLA "{sla[:80]}"'
    for object_type, job in ((o, existing.get(o)) for o in ("contacts", "companies", "deals")):
        field = getattr(form, f"{object_type}_minutes")
        if (field.data or 0) <= most:
            continue
        if job is None:
            field.data = most
            field.description = f"From the intake ({words}: at most half its target); edit it if it should differ."
        else:
            field.description = (f"The intake's SLA needs a run at least every {most} minutes ({words}); "
                                 "this schedule is slower.")
