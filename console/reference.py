"""Reference rows every installation needs: the providers the console knows."""
from __future__ import annotations

import sqlalchemy as sa

from .choices import AuthType
from .extensions import db
from .models import IntegrationProvider

PROVIDERS = (
    {
        "key": "hubspot",
        "name": "HubSpot CRM",
        "kind": "crm",
        "auth_type": AuthType.PRIVATE_APP.value,
        "reason": "Clients' CRM of record: contacts, companies and deals feed lead and deal reporting.",
        "docs_url": "https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
    },
    {
        "key": "salesforce",
        "name": "Salesforce",
        "kind": "crm",
        "auth_type": AuthType.OAUTH.value,
        "reason": "Clients' CRM of record on Salesforce: contacts, accounts and opportunities feed lead and deal reporting.",
        "docs_url": "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/",
    },
    {
        "key": "manual_csv",
        "name": "Manual CSV import",
        "kind": "file",
        "auth_type": AuthType.FILE_UPLOAD.value,
        "reason": "The fallback path every connector keeps for important client updates.",
        "docs_url": None,
    },
)


def ensure_providers() -> dict[str, IntegrationProvider]:
    """Create missing provider rows (idempotent); return them by key."""
    existing = {p.key: p for p in db.session.scalars(sa.select(IntegrationProvider))}
    for spec in PROVIDERS:
        if spec["key"] not in existing:
            provider = IntegrationProvider(**spec)
            db.session.add(provider)
            existing[spec["key"]] = provider
    db.session.flush()
    return existing
