"""What the console read from each answer, shown beside it on the intake page: object by object where
the answer is about objects, and what it could not read, so nobody has to guess what the wizard will do
with the words. Values that would write to the CRM are marked as proposals (the mapping step applies
them only when a person says so)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import intake_reading, intake_topology
from ..choices import ObjectType

DIRECTIONS = {"in": "provider to console", "out": "console to provider", "both": "both ways"}
PROPOSAL = "a proposal: it writes to the CRM, so it waits for “Use this” on the mapping step"


@dataclass
class Reading:
    read: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


def reading(question: str, text: str, provider: str) -> Reading | None:
    """What the console takes from `text`, the answer to `question`; None for questions nothing reads."""
    reader = READERS.get(question)
    if reader is None or not text.strip():
        return None
    out = Reading()
    reader(text, provider, out)
    if not out.read and not out.unread:
        out.unread.append("nothing the console can use; the answer is kept as written")
    if len(text) > intake_reading.READ_CHARS:
        out.unread.append(f"only the first {intake_reading.READ_CHARS:,} characters are read")
    return out


def _short(words: str) -> str:
    words = " ".join(words.split())
    return f"“{words[:90]}{'…' if len(words) > 90 else ''}”"


def _topology(text: str, provider: str, out: Reading) -> None:
    for flow in intake_topology.read(text, provider):
        if flow.problem:
            named = f"{flow.named}: " if flow.named else ""
            out.unread.append(f"{_short(flow.words)}: {named}{flow.problem}")
        elif flow.object_type and flow.direction:
            note = f" ({PROPOSAL})" if flow.direction in ("out", "both") else ""
            out.read.append(f"{ObjectType.label_of(flow.object_type)}: {DIRECTIONS[flow.direction]}{note}")


def _records(text: str, provider: str, out: Reading) -> None:
    for what, winner in intake_reading.systems_of_record(text, provider):
        out.read.append(f"{what}: {'the CRM' if winner == 'provider' else 'the console'} wins ({PROPOSAL})")


def _matching(text: str, provider: str, out: Reading) -> None:
    for object_type, keys in intake_reading.matching(text).items():
        names = ", else ".join("our id" if k == "console_id" else k for k in keys)
        out.read.append(f"{ObjectType.label_of(object_type)}: matched on {names} ({PROPOSAL})")


def _dependencies(text: str, provider: str, out: Reading) -> None:
    for waiting, first in intake_reading.dependencies(text).items():
        out.read.append(f"{ObjectType.label_of(waiting)} run after {ObjectType.label_of(first).lower()}")


def _sla(text: str, provider: str, out: Reading) -> None:
    found = intake_reading.freshness(text)
    if found:
        out.read.append(f"freshness target {found[0]:,} seconds, {found[1]}% of the time")
    else:
        out.unread.append("no time and percentage together (e.g. “within 5 minutes 99% of the time”)")


def _quality(text: str, provider: str, out: Reading) -> None:
    names = {"completeness": "completeness", "duplicate_records": "duplicates", "unresolved": "unresolved references"}
    out.read.extend(f"{names[k]} {v}%" for k, v in intake_reading.quality(text).items())


def _channel(text: str, provider: str, out: Reading) -> None:
    found = intake_reading.channel(text)
    if found:
        out.read.append(f"alerts by {found}")
    emails = intake_reading.EMAIL.findall(text[:intake_reading.READ_CHARS])
    if emails:
        out.read.append("sent to " + ", ".join(dict.fromkeys(e.lower() for e in emails)))


def _blackout(text: str, provider: str, out: Reading) -> None:
    window = intake_reading.blackout(text)
    if window:
        out.read.append(f"no runs {intake_reading.blackout_text(window)}")
    else:
        out.unread.append("no daily window with a known time zone (e.g. “11pm-2am ET”)")


def _acceptance(text: str, provider: str, out: Reading) -> None:
    out.read.extend(f"{c.kind}: {_short(c.words)}" for c in intake_reading.acceptance(text))


def _stakeholders(text: str, provider: str, out: Reading) -> None:
    people = intake_reading.stakeholders(text)
    for person in people[:12]:
        out.read.append(", ".join(p for p in (person.role, person.name, person.email) if p))
    if len(people) > 12:
        out.read.append(f"and {len(people) - 12} more")


READERS = {"topology_flows": _topology, "topology_records": _records, "matching": _matching,
           "dependencies": _dependencies, "sla": _sla, "quality": _quality, "alert_channels": _channel,
           "blackouts": _blackout, "acceptance": _acceptance, "stakeholders": _stakeholders}
