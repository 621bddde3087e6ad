"""A connection's vocabulary (connectors/vocabulary.py), asked of the registry by its provider: the mapping
layer's only way to a provider's own names."""
from __future__ import annotations

import sqlalchemy as sa

from ..connectors import registry
from ..connectors.vocabulary import NONE, Vocabulary
from ..extensions import db
from ..models import IntegrationConnection, IntegrationProvider


def of_provider(key: str) -> Vocabulary:
    try:
        return registry.get(key).vocabulary
    except registry.UnknownProvider:
        return NONE


def of_connection(connection_id: int | None) -> Vocabulary:
    if connection_id is None:
        return NONE
    key = db.session.scalar(sa.select(IntegrationProvider.key).join(
        IntegrationConnection, IntegrationConnection.provider_id == IntegrationProvider.id).where(
        IntegrationConnection.id == connection_id))
    return of_provider(key) if key else NONE


def every_synonym(target: str) -> tuple[str, ...]:
    """Every registered provider's names for a console field (a file may come from any CRM's export)."""
    return tuple(dict.fromkeys(name for connector in registry.every() for name in connector.vocabulary.synonyms.get(target, ())))
