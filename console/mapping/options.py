"""HubSpot's default options for the picklists a CSV file can fill, as (value, label): what a portal
holds unless its admins changed them. A client's own CRM options, learned from its connections' enum
mappings, are added to these (console/imports/mapping.py)."""
from __future__ import annotations

HUBSPOT_DEFAULTS: dict[str, list[tuple[str, str]]] = {
    "lifecycle_stage": [("subscriber", "Subscriber"), ("lead", "Lead"),
                        ("marketingqualifiedlead", "Marketing Qualified Lead"),
                        ("salesqualifiedlead", "Sales Qualified Lead"), ("opportunity", "Opportunity"),
                        ("customer", "Customer"), ("evangelist", "Evangelist"), ("other", "Other")],
    "lead_status": [("NEW", "New"), ("OPEN", "Open"), ("IN_PROGRESS", "In Progress"), ("OPEN_DEAL", "Open Deal"),
                    ("UNQUALIFIED", "Unqualified"), ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
                    ("CONNECTED", "Connected"), ("BAD_TIMING", "Bad Timing")],
    "source_attribution": [("ORGANIC_SEARCH", "Organic Search"), ("PAID_SEARCH", "Paid Search"),
                           ("EMAIL_MARKETING", "Email Marketing"), ("SOCIAL_MEDIA", "Organic Social"),
                           ("REFERRALS", "Referrals"), ("OTHER_CAMPAIGNS", "Other Campaigns"),
                           ("DIRECT_TRAFFIC", "Direct Traffic"), ("OFFLINE", "Offline Sources"),
                           ("PAID_SOCIAL", "Paid Social")],
}


def accepted(options: list[tuple[str, str]]) -> dict[str, str]:
    """Every spelling a file may use (the value or the label, any case) -> the value stored."""
    out: dict[str, str] = {}
    for value, label in options:
        out.setdefault(value.casefold(), value)
        out.setdefault(label.casefold(), value)
    return out
