"""The intake's samples as mapping suggestions: the fields read from an attached CSV, JSON samples or an
API document, ranked for one of our fields the way the provider's own properties are (name similarity,
and whether a transform turns the field's type into ours), each with the file it came from and, for a
choice field, its values."""
from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..mapping.suggest import suggest
from ..mapping.targets import Target
from ..mapping.vocabulary import of_connection
from ..models import IntakeAttachment

# A sample's inferred type as the provider property type it would be (what the transforms read).
AS_PROPERTY_TYPE = {"text": "string", "email": "string", "phone": "phone_number", "number": "number", "date": "date",
                    "datetime": "datetime", "boolean": "bool", "unknown": "string", "list": "object", "object": "object",
                    "reference": "object"}


class SampleSuggestion(NamedTuple):
    name: str
    file_name: str
    source: str  # the API document's schema ("" for a sample file)
    kind: str  # the sample's type
    values: list[str]
    score: int
    transform: str | None
    reason: str


def for_target(connection_id: int, tgt: Target, limit: int = 5) -> list[SampleSuggestion]:
    """The attached samples' fields that could fill `tgt`, best first (those scoring under 50 left out)."""
    found: list[SampleSuggestion] = []
    words = of_connection(connection_id)
    for att in db.session.scalars(sa.select(IntakeAttachment).where(IntakeAttachment.connection_id == connection_id)
                                  .order_by(IntakeAttachment.id)):
        fields = dict(enumerate(att.fields))
        props = [{"name": str(i), "label": f["name"], "type": _property_type(f)} for i, f in fields.items()]
        for s in suggest(tgt, props, limit=len(props), synonyms=words.synonyms):
            f = fields[int(s.name)]
            if s.score >= 50:
                found.append(SampleSuggestion(f["name"], att.file_name, f.get("source", ""), f["type"],
                                              list(f.get("values") or [])[:12], s.score, s.transform,
                                              s.reason.replace(f"“{f['name']}”", f"“{f['name']}” in {att.file_name}")))
    found.sort(key=lambda s: (-s.score, s.file_name, s.name))
    return found[:limit]


def _property_type(field: dict) -> str:
    """A field with picklist values is an enumeration (the enum transform reads those)."""
    if field.get("values") and field["type"] in ("text", "unknown"):
        return "enumeration"
    return AS_PROPERTY_TYPE.get(field["type"], "string")
