"""HubSpot's vocabulary (connectors/vocabulary.py): its default mappings, the properties it sets itself,
its names for the console's fields, the properties every record has, and what a portal's custom object
schemas (/crm/v3/schemas) keep, bounded and checked."""
from __future__ import annotations

from ..vocabulary import FieldSpec, Vocabulary

_COMMON_TAIL = [
    FieldSpec("hubspot_owner_id", "owner_external_id", "trim"),
    FieldSpec("hubspot_owner_id", "owner_name", "owner_name"),
    FieldSpec("hs_analytics_source", "source_attribution", "enum"),
    FieldSpec("notes_next_activity_date", "next_activity_at", "datetime_utc"),
    FieldSpec("createdate", "provider_created_at", "datetime_utc"),
]
_TIMES = [FieldSpec("createdate", "provider_created_at", "datetime_utc"),
          FieldSpec("hs_lastmodifieddate", "provider_updated_at", "datetime_utc")]
DEFAULT_FIELDS: dict[str, list[FieldSpec]] = {
    "contacts": [
        FieldSpec("email", "email", "email", required=True),
        FieldSpec("firstname", "first_name"),
        FieldSpec("lastname", "last_name"),
        FieldSpec("phone", "phone", "phone_e164", {"region": "CA"}, sensitive=True),
        FieldSpec("company", "company_name"),
        FieldSpec("lifecyclestage", "lifecycle_stage", "enum"),
        FieldSpec("hs_lead_status", "lead_status", "enum"),
        *_COMMON_TAIL,
        FieldSpec("lastmodifieddate", "provider_updated_at", "datetime_utc"),
    ],
    "companies": [
        FieldSpec("name", "company_name", required=True),
        FieldSpec("domain", "domain", "case", {"case": "lower"}),
        *_COMMON_TAIL[:2],
        *_TIMES,
    ],
    "deals": [
        FieldSpec("dealname", "deal_name", required=True),
        FieldSpec("amount", "amount", "decimal"),
        FieldSpec("deal_currency_code", "currency", "case", {"case": "upper"}),
        FieldSpec("amount", "amount_base", "currency_convert",
                  {"currency_field": "deal_currency_code", "base": "CAD", "rates": {"CAD": "1", "USD": "1.37"}}),
        FieldSpec("pipeline", "pipeline", "pipeline_label"),
        FieldSpec("dealstage", "deal_stage", "stage_label", required=True),
        FieldSpec("dealstage", "deal_state", "stage_state"),
        *_COMMON_TAIL,
        FieldSpec("hs_lastmodifieddate", "provider_updated_at", "datetime_utc"),
    ],
    "products": [
        FieldSpec("name", "f.name", required=True),
        FieldSpec("price", "f.price", "decimal"),
        FieldSpec("hs_sku", "f.hs_sku"),
        *_TIMES,
    ],
    "line_items": [
        FieldSpec("name", "f.name", required=True),
        FieldSpec("hs_product_id", "f.hs_product_id"),
        FieldSpec("quantity", "f.quantity", "decimal"),
        FieldSpec("price", "f.price", "decimal"),
        FieldSpec("amount", "f.amount", "decimal"),
        *_TIMES,
    ],
    "tickets": [
        FieldSpec("subject", "f.subject", required=True),
        FieldSpec("hs_pipeline", "f.hs_pipeline", "enum"),
        FieldSpec("hs_pipeline_stage", "f.hs_pipeline_stage", "enum", required=True),
        FieldSpec("hs_ticket_priority", "f.hs_ticket_priority", "enum"),
        *_COMMON_TAIL[:2],
        *_TIMES,
    ],
}
# Picklists mapped through enum tables (every provider option must be mapped or explicitly ignored).
ENUM_FIELDS = {"contacts": ["lifecyclestage", "hs_lead_status", "hs_analytics_source"],
               "deals": ["hs_analytics_source"], "companies": [],
               "products": [], "line_items": [], "tickets": ["hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority"]}

VOCABULARY = Vocabulary(
    default_fields=DEFAULT_FIELDS, enum_fields=ENUM_FIELDS, more_objects=("products", "line_items", "tickets"),
    read_only=frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"}),
    synonyms={"company_name": ("company", "name"), "deal_name": ("dealname",), "deal_stage": ("dealstage",),
              "deal_state": ("dealstage",), "lifecycle_stage": ("lifecyclestage",), "lead_status": ("hs_lead_status",),
              "owner_external_id": ("hubspot_owner_id",), "owner_name": ("hubspot_owner_id",),
              "source_attribution": ("hs_analytics_source", "source"), "next_activity_at": ("notes_next_activity_date",),
              "provider_created_at": ("createdate",), "provider_updated_at": ("lastmodifieddate", "hs_lastmodifieddate"),
              "currency": ("deal_currency_code",), "amount_base": ("amount",)},
    record_frame={"hubspot_owner_id": "owner_external_id", "hs_createdate": "provider_created_at",
                  "createdate": "provider_created_at", "hs_lastmodifieddate": "provider_updated_at"},
    record_id="hs_object_id",
    type_transforms={"number": "decimal", "datetime": "datetime_utc", "date": "datetime_utc", "enumeration": "enum",
                     "phone_number": "trim"},
    type_kinds={"number": "number", "datetime": "datetime", "date": "datetime", "enumeration": "picklist",
                "bool": "code", "phone_number": "phone"},
    write_scope="crm.objects.{object_type}.write",
)
