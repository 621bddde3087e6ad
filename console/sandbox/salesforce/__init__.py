"""A local Salesforce-compatible REST API for demos, tests and benchmarks (issue 38).

An independent imitation of Salesforce's documented REST API: OAuth (password, refresh token, web-server
and JWT bearer flows), the identity URL, sObject describe, SOQL queries paged by `nextRecordsUrl`,
`getUpdated` / `getDeleted`, record and sObject Collections writes (upsert on an external-id field), and
the org's daily API limit reported in `Sforce-Limit-Info`. It shares no code with any console connector,
so simple-salesforce and tap-salesforce running against it check a connector against Salesforce's
behaviour, not against itself.
"""
from .app import create_salesforce_app
from .server import SalesforceSandbox
from .state import OrgConfig

__all__ = ["OrgConfig", "SalesforceSandbox", "create_salesforce_app"]
