"""Rank the provider's properties for one internal field: name similarity (to the property's name and
label) and whether a transform exists that turns the property's type into the field's kind. Every
suggestion carries its reason, in words."""
from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import NamedTuple

from .targets import ATTRIBUTE, READS, Target, transforms_for


class Suggestion(NamedTuple):
    name: str
    label: str
    score: int  # 0–100
    transform: str | None
    reason: str


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def transform_for(target: Target, prop_type: str) -> str | None:
    """The first transform that makes this kind of field from this type of property, if any."""
    return next((t for t in transforms_for(target) if prop_type in READS[t]), None)


def suggest(target: Target, properties: list[dict], limit: int = 5,
            synonyms: dict[str, tuple[str, ...]] | None = None) -> list[Suggestion]:
    """`synonyms`: the provider's own names for the console's fields (its connector's vocabulary)."""
    wanted = [_norm(target.name), _norm(target.label), *(_norm(s) for s in (synonyms or {}).get(target.name, ()))]
    ranked = []
    for prop in properties:
        name, label, ptype = prop["name"], prop.get("label") or prop["name"], prop.get("type", "string")
        similarity = max(SequenceMatcher(None, w, candidate).ratio()
                         for w in wanted for candidate in (_norm(name), _norm(label)))
        transform = transform_for(target, ptype)
        inferred = prop.get("inferred")  # text whose sampled values look like another kind (inference.py)
        if inferred is not None and (transform is None or target.name.startswith(ATTRIBUTE)):
            # a field of the record's own takes the kind its values show (a date typed as text, say)
            transform = transform_for(target, inferred.property_type) or transform
        score = round(similarity * 70 + (30 if transform else 0))
        kind = f"{ptype} that {inferred.words}" if inferred is not None else ptype
        if transform:
            fit = f"{kind} fits a {target.kind} field through “{transform}”"
        else:
            fit = f"{kind} cannot become a {target.kind} field"
        ranked.append(Suggestion(name, label, score, transform,
                                 f"name {round(similarity * 100)}% similar to “{label}”; {fit}"))
    ranked.sort(key=lambda s: (-s.score, s.name))
    return ranked[:limit]
