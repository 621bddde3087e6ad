"""The launch checklist (from the seeds): each item belongs to a wizard step. Manual items are ticked by
a person; automatic items are ticked only by the system when it can prove them (a live credentials
check, a passing test batch, a captured baseline…) and cannot be ticked by hand."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .. import audit
from ..choices import WizardStep
from ..extensions import db
from ..models import ConnectionChecklistItem, IntegrationConnection, User
from ..models.base import utcnow
from ..refusals import Refused


@dataclass(frozen=True)
class ItemDef:
    step: WizardStep
    key: str
    label: str
    automatic: bool = False
    required: bool = True


ITEMS: tuple[ItemDef, ...] = (
    ItemDef(WizardStep.ACCESS, "account_access", "Account access confirmed with the client"),
    ItemDef(WizardStep.ACCESS, "provider_docs", "Provider docs linked", automatic=True),
    ItemDef(WizardStep.ACCESS, "auth_documented", "Auth model and scopes documented", automatic=True),
    ItemDef(WizardStep.ACCESS, "revocation_documented", "Credential storage and revocation path documented",
            automatic=True),
    ItemDef(WizardStep.CONNECTION, "records_created", "Provider and connection records created", automatic=True),
    ItemDef(WizardStep.CONNECTION, "credentials_verified", "Credentials verified by a live check", automatic=True),
    ItemDef(WizardStep.MAPPING, "jobs_named", "Sync jobs named", automatic=True),
    ItemDef(WizardStep.MAPPING, "fields_mapped", "Objects and fields mapped", automatic=True),
    ItemDef(WizardStep.TEST, "test_batch_reviewed", "Test batch passed", automatic=True),
    ItemDef(WizardStep.TEST, "test_results_reviewed", "Test batch results reviewed with the client's data in mind"),
    ItemDef(WizardStep.REPORT, "baseline_created", "Baseline created", automatic=True),
    ItemDef(WizardStep.REPORT, "client_explanation", "Client-safe explanation and next action written", automatic=True),
    ItemDef(WizardStep.MONITOR, "monitoring_configured", "Monitoring configured", automatic=True),
    ItemDef(WizardStep.MONITOR, "client_visibility", "Client visibility defined", automatic=True),
    ItemDef(WizardStep.MONITOR, "failure_path", "Failure path documented", automatic=True),
    ItemDef(WizardStep.MONITOR, "manual_fallback", "Manual import path kept", automatic=True),
)
BY_KEY = {i.key: i for i in ITEMS}


class ChecklistRefused(Refused):
    pass


def ensure(conn: IntegrationConnection) -> None:
    """Create the connection's checklist rows that are missing (idempotent)."""
    have = set(db.session.scalars(sa.select(ConnectionChecklistItem.key).where(
        ConnectionChecklistItem.connection_id == conn.id)))
    for position, item in enumerate(ITEMS):
        if item.key not in have:
            db.session.add(ConnectionChecklistItem(connection_id=conn.id, step=item.step.value, key=item.key,
                                                   label=item.label, position=position, required=item.required,
                                                   automatic=item.automatic))
    db.session.flush()


def items(conn: IntegrationConnection) -> list[ConnectionChecklistItem]:
    """Every item of the checklist, stored or not: an item whose row is missing (a connection made before
    its item existed) reads as not done, so the count is never "0 of 0". The rows are created on the next
    write (`ensure`); these stand-ins are never added to the session."""
    stored = {r.key: r for r in db.session.scalars(sa.select(ConnectionChecklistItem).where(
        ConnectionChecklistItem.connection_id == conn.id))}
    out = []
    for position, item in enumerate(ITEMS):
        out.append(stored.get(item.key) or ConnectionChecklistItem(
            connection_id=conn.id, step=item.step.value, key=item.key, label=item.label, position=position,
            required=item.required, automatic=item.automatic, done_at=None))
    return out


def _row(conn: IntegrationConnection, key: str) -> ConnectionChecklistItem:
    ensure(conn)
    return db.session.execute(sa.select(ConnectionChecklistItem).where(
        ConnectionChecklistItem.connection_id == conn.id, ConnectionChecklistItem.key == key)).scalar_one()


def prove(conn: IntegrationConnection, key: str, proven: bool, note: str = "", user: User | None = None) -> None:
    """Set an automatic item from what the system just established (ticks or unticks it)."""
    row = _row(conn, key)
    if proven and row.done_at is None:
        row.done_at, row.done_by_user_id, row.note = utcnow(), user.id if user else None, note[:500]
    elif not proven and row.done_at is not None:
        row.done_at, row.done_by_user_id, row.note = None, None, note[:500]


def tick(conn: IntegrationConnection, key: str, user: User, done: bool, note: str = "") -> ConnectionChecklistItem:
    """A person ticks (or unticks) a manual item; automatic items refuse."""
    if key not in BY_KEY:
        raise ChecklistRefused("There is no such checklist item.")
    if BY_KEY[key].automatic:
        raise ChecklistRefused(f"“{BY_KEY[key].label}” is ticked by the console when it can prove it.")
    row = _row(conn, key)
    row.done_at, row.done_by_user_id = (utcnow(), user.id) if done else (None, None)
    row.note = note.strip()[:500]
    audit.record("checklist.ticked" if done else "checklist.unticked", conn, user, item=key, note=row.note or None)
    db.session.commit()
    return row


def progress(rows: list[ConnectionChecklistItem]) -> tuple[int, int]:
    required = [r for r in rows if r.required]
    return sum(1 for r in required if r.done_at), len(required)


def pills(rows: list[ConnectionChecklistItem]) -> dict[str, str]:
    """Each step's state for its pill: done, attention (started, something still open) or todo."""
    out = {}
    for step in WizardStep:
        required = [r for r in rows if r.step == step.value and r.required]
        done = sum(1 for r in required if r.done_at)
        out[step.value] = "done" if done == len(required) else ("attention" if done else "todo")
    return out


def next_step(rows: list[ConnectionChecklistItem]) -> WizardStep | None:
    """The first step with an open required item (None: the checklist is complete)."""
    for step in WizardStep:
        if any(r.step == step.value and r.required and r.done_at is None for r in rows):
            return step
    return None
