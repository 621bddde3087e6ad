"""Salesforce's vocabulary (connectors/vocabulary.py): its default mappings for Contacts, Accounts and
Opportunities, the fields the org sets itself, its names for the console's fields, the fields every record
has, and how describe's types read."""
from __future__ import annotations

from ..vocabulary import FieldSpec, Vocabulary

_OWNER = [FieldSpec("OwnerId", "owner_external_id", "trim"), FieldSpec("OwnerId", "owner_name", "owner_name")]
_TIMES = [FieldSpec("CreatedDate", "provider_created_at", "datetime_utc"),
          FieldSpec("SystemModstamp", "provider_updated_at", "datetime_utc")]
DEFAULT_FIELDS = {
    "contacts": [
        FieldSpec("Email", "email", "email", required=True),
        FieldSpec("FirstName", "first_name"),
        FieldSpec("LastName", "last_name"),
        FieldSpec("Phone", "phone", "phone_e164", {"region": "CA"}, sensitive=True),
        FieldSpec("LeadSource", "source_attribution", "enum"),
        *_OWNER, *_TIMES,
    ],
    "companies": [
        FieldSpec("Name", "company_name", required=True),
        FieldSpec("Website", "domain", "case", {"case": "lower"}),
        *_OWNER, *_TIMES,
    ],
    "deals": [
        FieldSpec("Name", "deal_name", required=True),
        FieldSpec("Amount", "amount", "decimal"),
        FieldSpec("Amount", "amount_base", "decimal"),  # a single-currency org: its amounts are in its one currency
        FieldSpec("StageName", "deal_stage", "stage_label", required=True),
        FieldSpec("StageName", "deal_state", "stage_state"),
        *_OWNER, *_TIMES,
    ],
}
SYSTEM = frozenset({"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                    "SystemModstamp"})

VOCABULARY = Vocabulary(
    default_fields=DEFAULT_FIELDS, enum_fields={"contacts": ["LeadSource"], "companies": [], "deals": []},
    read_only=SYSTEM,
    synonyms={"company_name": ("Name", "Company"), "deal_name": ("Name",), "deal_stage": ("StageName",),
              "deal_state": ("StageName",), "lead_status": ("Status",), "owner_external_id": ("OwnerId",),
              "owner_name": ("OwnerId",), "source_attribution": ("LeadSource",), "provider_created_at": ("CreatedDate",),
              "provider_updated_at": ("SystemModstamp", "LastModifiedDate"), "domain": ("Website",),
              "first_name": ("FirstName",), "last_name": ("LastName",)},
    record_frame={"OwnerId": "owner_external_id", "CreatedDate": "provider_created_at",
                  "SystemModstamp": "provider_updated_at"},
    record_id="Id",
    writes=False,  # two-way sync with Salesforce (sObject Collections, upsert on Connector_Console_Id__c) is not built yet
    type_transforms={"number": "decimal", "datetime": "datetime_utc", "date": "datetime_utc", "enumeration": "enum"},
    type_kinds={"number": "number", "datetime": "datetime", "date": "datetime", "enumeration": "picklist",
                "bool": "code", "phone_number": "phone"},
)
