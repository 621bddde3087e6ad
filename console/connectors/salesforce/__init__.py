"""Salesforce connector: REST client, OAuth (web-server and JWT bearer), keyset streams over SOQL,
sObject Collections writes."""
from __future__ import annotations

from ..registry import Connector, register
from . import account
from .session import open_session
from .vocabulary import VOCABULARY

CONNECTOR = register(Connector(key="salesforce", name="Salesforce", source_label="CRM", open_session=open_session,
                               authorize_url=account.authorize_url, exchange_code=account.exchange_code,
                               vocabulary=VOCABULARY, account_label="Salesforce org id", account_noun="org",
                               account_pattern=r"00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?", default_scopes=("api", "refresh_token"),
                               auth_types=("oauth",), same_account=lambda typed, answered: typed[:15] == answered[:15]))
