"""HubSpot's default options for the picklists a CSV file can fill, as (value, label): what a portal
holds unless its admins changed them. Used when the client has no CRM connection mapping that picklist;
when it has, its own options are used instead (console/imports/mapping.py)."""
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


Choice = tuple[str, tuple[str, ...]]  # (the value stored, every spelling a file may use for it)


def default_choices(target: str) -> list[Choice]:
    """HubSpot's default options as the console stores them: the label, as a default enum mapping does
    (console/mapping/service.py), spelled by value or label."""
    return [(label, (value, label)) for value, label in HUBSPOT_DEFAULTS.get(target, [])]


def accepted(choices: list[Choice]) -> dict[str, str]:
    """Every spelling, casefolded -> the value stored."""
    out: dict[str, str] = {}
    for stored, spellings in choices:
        for spelling in (stored, *spellings):
            out.setdefault(spelling.casefold(), stored)
    return out
