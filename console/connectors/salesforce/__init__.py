"""Salesforce connector: REST client, OAuth (web-server and JWT bearer), keyset streams over SOQL,
sObject Collections writes."""
from __future__ import annotations

from ..registry import Connector, register
from .session import open_session
from .vocabulary import VOCABULARY

CONNECTOR = register(Connector(key="salesforce", name="Salesforce", source_label="CRM", open_session=open_session,
                               vocabulary=VOCABULARY))
