"""What the intake's answers mean for the wizard: the freshness SLA, data-quality thresholds, the alert
channel, each object's direction of flow, the acceptance criteria. Written in people's words, so each
reader takes only what it recognises and says nothing about the rest (the answer is still shown as typed).

Shared by the wizard (pre-filled values, the gate's acceptance checks) and the intake pages."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from .extensions import db
from .models import IntakeAnswer


def answers(connection_id: int) -> dict[str, str]:
    """The connection's non-empty answers by question."""
    return {q: t for q, t in db.session.execute(sa.select(IntakeAnswer.question, IntakeAnswer.text).where(
        IntakeAnswer.connection_id == connection_id)) if t}


_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60, "minute": 60,
          "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600}
READ_CHARS = 4000  # each reader reads at most this much of an answer: linear, whatever was typed
_NUM = r"(?<![\d.])(\d{1,9}(?:\.\d{1,6})?)"  # never starts inside a longer number: no backtracking over 20,000 digits
DURATION = re.compile(_NUM + r"\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b", re.I)
PERCENT = re.compile(_NUM + r"\s*%")
PERCENTILE = re.compile(r"\bp(\d{2}(?:\.\d{1,6})?)\b", re.I)


def duration_seconds(text: str) -> int | None:
    match = DURATION.search(text[:READ_CHARS])
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()]) if match else None


def freshness(text: str) -> tuple[int, int] | None:
    """(target seconds, objective %) from "within 5 minutes 99% of the time" or "p99 freshness 5 min"."""
    text = text[:READ_CHARS]
    seconds = duration_seconds(text)
    share = PERCENT.search(text) or PERCENTILE.search(text)
    if seconds is None or share is None:
        return None
    pct = float(share.group(1))
    return (seconds, int(pct)) if 0 < seconds <= 86400 and 0 < pct <= 100 else None


QUALITY_WORDS = {"completeness": ("complete",), "duplicate_records": ("duplicate",),
                 "unresolved": ("referential", "unresolved", "orphan")}


def quality(text: str) -> dict[str, int]:
    """Thresholds from clauses like "completeness 95%", "duplicate rate under 2%" (one per clause)."""
    found: dict[str, int] = {}
    for clause in re.split(r"[,;\n]|\band\b", text[:READ_CHARS]):
        pct = PERCENT.search(clause)
        if not pct:
            continue
        lowered = clause.lower()
        for name, words in QUALITY_WORDS.items():
            if any(w in lowered for w in words) and name not in found:
                found[name] = min(100, round(float(pct.group(1))))
    return found


def channel(text: str) -> str | None:
    lowered = text[:READ_CHARS].lower()
    return "slack" if "slack" in lowered else "email" if "email" in lowered or "e-mail" in lowered else None


OBJECTS = {"contacts": ("contact", "member", "person", "people", "customer", "lead"),
           "companies": ("compan", "account", "organi"),
           "deals": ("deal", "reservation", "booking", "order", "opportunit")}


def directions(text: str, provider: str = "HubSpot") -> dict[str, str]:
    """Each object's direction of flow (in, out, both), read clause by clause (intake_topology)."""
    from . import intake_topology

    return intake_topology.directions(text, provider)


def object_named(text: str) -> str | None:
    """The object a phrase names ("Members", "a Company", "Deal amount"), if any."""
    return _object(text.lower())


def _object(text: str) -> str | None:
    for obj, stems in OBJECTS.items():
        if any(stem in text for stem in stems):
            return obj
    return None


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion the console can measure: what it checks and the threshold."""
    kind: str  # counts | freshness | completeness | duplicates
    words: str  # the criterion as the intake phrased it
    threshold: float  # counts: max % differing; freshness: seconds (with pct); completeness/duplicates: %
    pct: float | None = None


def acceptance(text: str) -> list[Criterion]:
    """Criteria from lines like "counts match within 0.1%", "p99 freshness 5 min", "completeness 95%"."""
    out: list[Criterion] = []
    for raw in re.split(r"[\n;]|,\s*(?=[a-z\"'])", text[:READ_CHARS]):
        line = raw.strip().strip("\"'").strip()
        lowered = line.lower()
        pct = PERCENT.search(line)
        if "count" in lowered and pct:
            out.append(Criterion("counts", line, float(pct.group(1))))
        elif "fresh" in lowered or "reflected" in lowered or "latency" in lowered:
            read = freshness(line)
            if read:
                out.append(Criterion("freshness", line, read[0], read[1]))
        elif "complete" in lowered and pct:
            out.append(Criterion("completeness", line, float(pct.group(1))))
        elif "duplicate" in lowered and pct:
            out.append(Criterion("duplicates", line, float(pct.group(1))))
    return out


# Time-zone words people write after a time, as IANA zones (Canada first: the agency's clients).
ZONES = {"et": "America/Toronto", "est": "America/Toronto", "edt": "America/Toronto", "eastern": "America/Toronto",
         "ct": "America/Winnipeg", "cst": "America/Winnipeg", "cdt": "America/Winnipeg", "central": "America/Winnipeg",
         "mt": "America/Edmonton", "mst": "America/Edmonton", "mdt": "America/Edmonton", "mountain": "America/Edmonton",
         "pt": "America/Vancouver", "pst": "America/Vancouver", "pdt": "America/Vancouver", "pacific": "America/Vancouver",
         "at": "America/Halifax", "ast": "America/Halifax", "adt": "America/Halifax", "atlantic": "America/Halifax",
         "utc": "UTC", "gmt": "UTC"}
_CLOCK = r"(\d{1,2})(?::(\d{2}))?(?:\s*(am|pm|a\.m\.|p\.m\.)(?![a-z]))?"
WINDOW = re.compile(_CLOCK + r"\s*(?:-|–|—|to|until)\s*" + _CLOCK + r"(?:\s+([A-Za-z_]+(?:/[A-Za-z_]+)*))?", re.I)


def blackout(text: str) -> dict | None:
    """A daily window from "11pm-2am ET", "23:00-02:00 America/Toronto", "11:30 pm to 2 am Eastern":
    {"start": "23:00", "end": "02:00", "timezone": "America/Toronto"} (UTC when no zone is named)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    match = WINDOW.search(text[:READ_CHARS])
    if not match:
        return None
    h1, m1, p1, h2, m2, p2, zone = match.groups()
    start, end = _clock(h1, m1, p1 or p2), _clock(h2, m2, p2)
    if start is None or end is None or start == end:
        return None
    name = ZONES.get((zone or "utc").lower(), zone or "UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a zone nobody knows: better no window than one at the wrong hours
    return {"start": start, "end": end, "timezone": name}


def _clock(hour: str, minute: str | None, meridiem: str | None) -> str | None:
    h, m = int(hour), int(minute or 0)
    if meridiem:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if meridiem.lower().startswith("p") else 0)
    return f"{h:02d}:{m:02d}" if h < 24 and m < 60 else None


def blackout_text(window: dict | None) -> str:
    """The form's words for a stored window: "23:00-02:00 America/Toronto"."""
    return f"{window['start']}-{window['end']} {window.get('timezone', 'UTC')}" if window else ""


# ---- matching rules, dependency order, stakeholders, systems of record --------------------------------
_KEYS = (("email", re.compile(r"\be-?mail\b", re.I)), ("domain", re.compile(r"\b(domain|website)\b", re.I)),
         ("console_id", re.compile(r"\b(external[ _-]?id|source[ _-]?id|(?:our|console|record|their)[ _-]?id|id)\b", re.I)))


def _clauses(text: str) -> list[str]:
    """Sentences and lines: "Contacts on email. Companies on domain." is two clauses."""
    return [c.strip() for c in re.split(r"\n|;|\.(?:\s|$)", text[:READ_CHARS]) if c.strip()]


def matching(text: str) -> dict[str, tuple[str, ...]]:
    """Each object's match keys in the order named, from "Contacts matched on email, fallback to
    external_id. Companies on domain.": email, domain or console_id (the console's own id in the CRM)."""
    found: dict[str, tuple[str, ...]] = {}
    for clause in _clauses(text):
        obj = _object(clause.lower())
        if obj is None or obj in found:
            continue
        hits = sorted((m.start(), key) for key, pattern in _KEYS for m in pattern.finditer(clause))
        keys = tuple(dict.fromkeys(key for _, key in hits))
        if keys:
            found[obj] = keys
    return found


def _objects_in(text: str) -> list[tuple[int, str]]:
    """(position, object) of each object named, first mention of each."""
    lowered, out = text.lower(), {}
    for obj, stems in OBJECTS.items():
        places = [i for stem in stems if (i := lowered.find(stem)) >= 0]
        if places:
            out[obj] = min(places)
    return sorted((i, obj) for obj, i in out.items())


def dependencies(text: str) -> dict[str, str]:
    """Which object waits for which, from "a Company must exist before a Contact association" or "deals
    after contacts" / "deals depend on companies": {waiting object: the object it runs after}."""
    found: dict[str, str] = {}
    for clause in _clauses(text):
        lowered = clause.lower()
        word = re.search(r"\b(before|after|depends? on|requires?|needs?)\b", lowered)
        if not word:
            continue
        left = _objects_in(clause[:word.start()])
        right = _objects_in(clause[word.end():])
        if not left or not right:
            continue
        first, then = left[-1][1], right[0][1]
        if word.group(1) == "before":
            first, then = then, first  # "A before B": B waits for A
        if first != then:
            found.setdefault(first, then)
    return found


EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Stakeholder:
    role: str
    name: str
    email: str


def stakeholders(text: str) -> list[Stakeholder]:
    """One per line, "role: name, email" (any of the three may be missing)."""
    out = []
    for line in text[:READ_CHARS].splitlines():
        role, _, rest = line.partition(":") if ":" in line else ("", "", line)
        email = EMAIL.search(rest)
        name = (rest[:email.start()] + rest[email.end():] if email else rest).strip(" ,;-<>()\t")
        if email or name:
            out.append(Stakeholder(role.strip(" -*\t"), name, email.group(0).lower() if email else ""))
    return out


def alert_contacts(people: list[Stakeholder]) -> list[str]:
    """Who is alerted when the integration fails: the technical owners and the day-to-day contact when
    the intake names them, else everyone with an address."""
    technical = [p.email for p in people if p.email and re.search(r"technical|tech|ops|on-?call|day-to-day|contact|support",
                                                                  p.role, re.I)]
    return list(dict.fromkeys(technical or [p.email for p in people if p.email]))


def systems_of_record(text: str, provider: str = "HubSpot") -> list[tuple[str, str]]:
    """(what, winner) from "Contact demographics: SourceApp. Lifecycle stage: HubSpot.": winner is
    "provider" when the line names the provider, else "console" (the client's own system, through us)."""
    name = provider.lower().split()[0]
    out = []
    for clause in _clauses(text):
        what, _, system = clause.partition(":")
        if not system.strip() or not what.strip():
            continue
        out.append((what.strip(), "provider" if re.search(rf"\b{re.escape(name)}\b", system.lower()) else "console"))
    return out
