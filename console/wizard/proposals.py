"""What the intake proposes that would write to the client's CRM: a direction out or both ways, the keys
new records are matched on there, who wins a two-way field. Read from free text, so never set by it: the
mapping step shows each as a proposal beside its field, and only a person's "Use this" applies it
(audited, re-read from the intake at that moment, so a stale page cannot apply what it no longer says)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import audit, intake_reading
from ..choices import ObjectType, SystemOfRecord
from ..extensions import db
from ..mapping import editor
from ..mapping.targets import target
from ..models import IntegrationConnection, User
from ..refusals import Refused
from ..sync.inbound.runner import ensure_job
from ..sync.outbound.pusher import CONSOLE_ID_PROPERTY, MATCH_KEYS, match_label
from . import checklist

WRITES = ("out", "both")
DIRECTION_WORDS = {"in": "provider to console", "out": "console to provider", "both": "both ways"}


@dataclass(frozen=True)
class Proposal:
    key: str  # what "Use this" posts: direction:contacts, match:contacts, record:contacts:lead_status
    value: str
    shown: str  # the value in words
    words: str  # where the intake says it


def directions(conn: IntegrationConnection) -> dict[str, Proposal]:
    """Each object's direction the intake reads, when it writes to the CRM (out or both)."""
    text = intake_reading.answers(conn.id).get("topology_flows", "")
    return {o: Proposal(f"direction:{o}", d, DIRECTION_WORDS[d], "topology")
            for o, d in intake_reading.directions(text, conn.provider.name).items() if d in WRITES}


def matching(conn: IntegrationConnection) -> dict[str, Proposal]:
    """Each object's match keys the intake names, in its order, where the form can express them."""
    text = intake_reading.answers(conn.id).get("matching", "")
    out = {}
    for object_type, said in intake_reading.matching(text).items():
        keys = [CONSOLE_ID_PROPERTY if k == "console_id" else k for k in said]
        keys = [k for k in keys if k in MATCH_KEYS.get(object_type, ())]
        if keys:
            out[object_type] = Proposal(f"match:{object_type}", ",".join(keys),
                                        ", else ".join(match_label(k) for k in keys), f'"{text[:80]}"')
    return out


def record(conn: IntegrationConnection, object_type: str, field: str, names) -> Proposal | None:
    """Who wins `field`'s conflicts, from the intake's systems of record; `names(what)` says whether a
    line of it names this field."""
    text = intake_reading.answers(conn.id).get("topology_records", "")
    for what, winner in intake_reading.systems_of_record(text, conn.provider.name):
        if names(what):
            return Proposal(f"record:{object_type}:{field}", winner, SystemOfRecord.label_of(winner).lower(),
                            f'"{what[:60]}"')
    return None


def use(conn: IntegrationConnection, user: User, key: str) -> str:
    """Apply the proposal `key` as the intake says it now; the message says what changed."""
    kind, _, rest = key.partition(":")
    object_type, _, field = rest.partition(":")
    tgt = None
    if object_type not in ObjectType.values():
        raise Refused("No such proposal.")
    if kind == "direction":
        found = directions(conn).get(object_type)
        if found is None:
            raise Refused("The intake no longer proposes a direction that writes for this object; nothing was changed.")
        job = ensure_job(conn, object_type)
        job.direction = found.value
        checklist.prove(conn, "fields_mapped", False, "direction changed")
    elif kind == "match":
        found = matching(conn).get(object_type)
        if found is None:
            raise Refused("The intake no longer names match keys for this object; nothing was changed.")
        ensure_job(conn, object_type).match_on = found.value
    elif kind == "record":
        row, tgt = editor.rows(conn.id, object_type).get(field), target(object_type, field)
        if row is None or tgt is None:
            raise Refused("Map this field first; then its system of record can be set.")
        found = record(conn, object_type, field, lambda what: names_field(what, object_type, tgt, row.source_field))
        if found is None:
            raise Refused("The intake no longer names a system of record for this field; nothing was changed.")
        row.system_of_record = found.value
        checklist.prove(conn, "fields_mapped", False, "system of record changed")
    else:
        raise Refused("No such proposal.")
    audit.record("intake.proposal_used", conn, user, proposal=found.key, value=found.value, words=found.words)
    db.session.commit()
    label = ObjectType.label_of(object_type)
    return {"direction": f"{label}: direction set to {found.shown}, as the intake proposes.",
            "match": f"{label}: new records are matched on {found.shown}, as the intake proposes.",
            "record": f"{label} · {tgt.label if kind == 'record' and tgt else field}: {found.shown} wins, "
                      "as the intake proposes."}[kind]


def names_field(what: str, object_type: str, target: Any, source: str | None) -> bool:
    """Whether the intake's "Lifecycle stage" or "Deal amount" names this field of this object."""
    obj = intake_reading.object_named(what)
    if obj is not None and obj != object_type:
        return False
    lowered = what.lower()
    words = {target.label.lower(), target.name.replace("_", " "), (source or "").lower()}
    return any(w and re.search(rf"\b{re.escape(w)}\b", lowered) for w in words)
