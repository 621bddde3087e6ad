"""HubSpot CRM connector: HTTP client, auth, rate limiting, streams, webhook signatures."""
from __future__ import annotations

from ..registry import Connector, register
from . import account, associations, signature
from .client import HUBSPOT_API
from .ratelimit import LANES
from .session import open_session
from .vocabulary import VOCABULARY

CONNECTOR = register(Connector(key="hubspot", name="HubSpot", source_label="CRM", open_session=open_session,
                               authorize_url=account.authorize_url, exchange_code=account.exchange_code,
                               webhooks=signature, link_source=associations.source_of,
                               event_object_type=associations.object_of_event, lanes=LANES,
                               vocabulary=VOCABULARY, default_base_url=HUBSPOT_API, account_label="HubSpot portal id",
                               account_noun="portal", account_pattern=r"\d{1,20}", auth_types=("private_app", "oauth"),
                               default_scopes=("crm.objects.contacts.read", "crm.objects.companies.read",
                                               "crm.objects.deals.read", "crm.objects.owners.read")))
