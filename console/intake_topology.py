"""The intake's direction of flow, read object by object across the whole answer.

People write it on one line or many, as sentences, with semicolons or commas: "Members: SourceApp to
HubSpot Contacts (one-way). Deals: bidirectional. Products: HubSpot to SourceApp." Each clause is read
on its own, so one clause's "bidirectional" never leaks into another's object. What cannot be read (no
object, an object the console does not sync, no direction, two clauses that disagree) is returned with
the reason, so the intake page can show it instead of guessing. Directions are the console's: in (the
provider to the console), out (the console to the provider), both.

Only the first MAX_CHARS of an answer are read, so every reader is linear and bounded."""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 4000

# Objects the console syncs, by the words clients use for them (matched at a word's start).
# Objects the console syncs, by the words clients use for them (a regular expression each, at a word's start).
SYNCED = {"contacts": (r"contacts?", r"members?(?:ships?)?", r"persons?", r"people", r"customers?", r"leads?",
                       r"patients?", r"clients?", r"subscribers?"),
          "companies": (r"compan(?:y|ies)", r"accounts?", r"organi[sz]ations?", r"business(?:es)?", r"firms?"),
          "deals": (r"deals?", r"reservations?", r"bookings?", r"orders?", r"opportunit(?:y|ies)", r"sales?")}
# Objects a CRM has that the console does not sync: named so the answer can say so, never guessed at.
UNSYNCED = (r"products?", r"line[- ]items?", r"tickets?", r"quotes?", r"invoices?", r"subscriptions?", r"payments?",
            r"tasks?", r"notes?", r"calls?", r"meetings?", r"campaigns?", r"appointments?", r"custom objects?",
            r"events?", r"users?", r"owners?", r"listings?", r"properties")
_STEMS = [(stem, obj) for obj, stems in SYNCED.items() for stem in stems] + [(stem, None) for stem in UNSYNCED]
_OBJECT = re.compile("|".join(rf"\b(?P<g{i}>{stem})\b" for i, (stem, _) in enumerate(_STEMS)), re.I)

_NOUNS = "|".join([stem for stem, _ in _STEMS] + ["crm", "portal", "side", "records?", "data"])


def _kind(match: re.Match[str]) -> str | None:
    """The object type a match of _OBJECT names (None: an object the console does not sync)."""
    return _STEMS[int((match.lastgroup or "g0")[1:])][1]

BOTH = re.compile(r"\b(bi-?directional(?:ly)?|two[- ]ways?|2[- ]way|both ways|both directions|either way|in both"
                  r"|round[- ]trip|sync(?:ed|s)? both)\b|<->|<=>|↔|⇄|⇆", re.I)
_TO = r"(?:\b(?:to|into|onto|towards?)\b|->|=>|→|⟶|>)"
ONE_WAY = re.compile(r"\b(one[- ]way|1[- ]way|uni-?directional)\b", re.I)
INBOUND = re.compile(r"\b(inbound|read[- ]only|import(?:ed)?|pull(?:ed)?)\b", re.I)
OUTBOUND = re.compile(r"\b(outbound|export(?:ed)?|push(?:ed)?|write[- ]?back)\b", re.I)
_CLAUSE = re.compile(r"\n|;|\.(?=\s|$)|(?<=\))\s*,")


@dataclass(frozen=True)
class Flow:
    """One clause as read: the object it names, the direction, or why it could not be used."""
    words: str
    object_type: str | None  # contacts, companies, deals; None when the clause names none the console syncs
    named: str  # the object as the clause names it ("Members", "Products")
    direction: str | None  # in, out, both
    problem: str = ""  # empty when the clause sets object_type's direction


def read(text: str, provider: str = "HubSpot") -> list[Flow]:
    """Every clause of the answer that names an object or a direction, in order, each read on its own."""
    name = re.escape(provider.lower().split()[0]) if provider.strip() else "hubspot"
    flows: list[Flow] = []
    pending: list[tuple[str, str | None, str]] = []  # objects named with no direction yet ("Deals, contacts: both")
    sentence = -1
    for at, clause in _clauses(text[:MAX_CHARS]):
        if at != sentence:  # a direction never crosses a sentence, a line or a semicolon
            flows.extend(_flow(words, obj, named, None) for words, obj, named in pending)
            pending, sentence = [], at
        objects = _objects(clause)
        direction = _direction(clause.lower(), name)
        if direction is None and objects and not ONE_WAY.search(clause):
            pending.extend((clause, obj, named) for obj, named in objects)
            continue
        for words, obj, named in pending:
            flows.append(_flow(words + " " + clause, obj, named, direction))
        pending = []
        if not objects:
            if direction is not None or ONE_WAY.search(clause):
                flows.append(Flow(clause, None, "", direction, "names no object"))
            continue
        flows.extend(_flow(clause, obj, named, direction) for obj, named in objects)
    flows.extend(_flow(words, obj, named, None) for words, obj, named in pending)
    return _settle(flows)


def directions(text: str, provider: str = "HubSpot") -> dict[str, str]:
    """Each synced object's direction, where the answer says it without contradicting itself."""
    return {f.object_type: f.direction for f in read(text, provider)
            if f.object_type and f.direction and not f.problem}


def _flow(words: str, obj: str | None, named: str, direction: str | None) -> Flow:
    if obj is None:
        return Flow(words, None, named, direction, "no such object synced")
    if direction is None:
        return Flow(words, obj, named, None, "no direction read (name both systems, or say both ways)")
    return Flow(words, obj, named, direction)


def _settle(flows: list[Flow]) -> list[Flow]:
    """An object given two different directions by two clauses gets neither: the page shows both clauses."""
    said: dict[str, set[str]] = {}
    for f in flows:
        if f.object_type and f.direction and not f.problem:
            said.setdefault(f.object_type, set()).add(f.direction)
    out, seen = [], set()
    for f in flows:
        if f.object_type and f.direction and not f.problem:
            if len(said[f.object_type]) > 1:
                f = Flow(f.words, f.object_type, f.named, f.direction, "another clause gives this object another direction")
            elif f.object_type in seen:
                continue  # said twice the same way: once is enough
            seen.add(f.object_type)
        out.append(f)
    return out


def _clauses(text: str) -> list[tuple[int, str]]:
    """(sentence number, clause): sentences, lines and semicolon parts; within one, a comma starts a new
    clause when what follows names an object of its own ("Contacts one-way to HubSpot, deals both ways")."""
    out: list[tuple[int, str]] = []
    for at, part in enumerate(_CLAUSE.split(text)):
        pieces = re.split(r",\s*|\s+(?:and|but|while|whereas)\s+(?=\w+\s*:)", part)
        current = ""
        for piece in pieces:
            starts = _OBJECT.match(piece.strip())
            if current and starts and (_has_direction(piece) or ":" in piece):
                out.append((at, current.strip()))
                current = piece
            else:
                current = f"{current}, {piece}" if current else piece
        if current.strip(" ,.\t\"'"):
            out.append((at, current.strip(" \t\"'")))
    return out


def _has_direction(piece: str) -> bool:
    return bool(BOTH.search(piece) or ONE_WAY.search(piece) or re.search(rf"\bfrom\b|{_TO}", piece, re.I))


def _objects(clause: str) -> list[tuple[str | None, str]]:
    """(object type or None, the word used) for the clause's object: what stands before its colon when
    that names one, else every object the clause names; each object once."""
    head, colon, _ = clause.partition(":")
    found = list(_OBJECT.finditer(head)) if colon else []
    if not found:
        found = list(_OBJECT.finditer(clause))
    out: dict[str | None, str] = {}
    unsynced: list[str] = []
    for m in found:
        obj = _kind(m)
        if obj is None:
            unsynced.append(m.group(0))
        else:
            out.setdefault(obj, m.group(0))
    if not out and unsynced:
        return [(None, unsynced[0])]
    first = _OBJECT.search(head) if colon else None
    if first is not None and _kind(first) is None:
        return [(None, first.group(0))]  # "Products: HubSpot to SourceApp" names products, whatever follows
    return list(out.items())


def _direction(lowered: str, name: str) -> str | None:
    """in, out or both from the clause's words, seen from the console (the provider is `name`)."""
    if BOTH.search(lowered):
        return "both"
    text = re.sub(r"[()\[\]\"']", " ", lowered)
    seen: set[str] = set()
    provider = rf"\b{name}\b"
    if re.search(rf"{_TO}\s*(?:the\s+)?{provider}", text):
        seen.add("out")
    if re.search(rf"\bfrom\s+(?:the\s+)?{provider}", text) or re.search(
            rf"{provider}(?:\s+(?:{_NOUNS})){{0,2}}\s*{_TO}", text):
        seen.add("in")
    if not seen and not re.search(provider, text):
        if INBOUND.search(text):
            seen.add("in")
        if OUTBOUND.search(text):
            seen.add("out")
    if not seen:
        return None
    return "both" if len(seen) > 1 else seen.pop()
