"""Property definitions the sandbox serves, in HubSpot's shapes (types, field types, options)."""
from __future__ import annotations

LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
             "evangelist", "other"]
LEAD_STATUS = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
               "BAD_TIMING"]
SOURCES = ["ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "OTHER_CAMPAIGNS",
           "DIRECT_TRAFFIC", "OFFLINE_SOURCES", "PAID_SOCIAL"]
CURRENCIES = ["USD", "CAD"]
PIPELINES = {
    "default": ("Sales Pipeline", [
        ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
        ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
        ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
        ("contractsent", "Contract Sent", "0.9", "false"),
        ("closedwon", "Closed Won", "1.0", "true"),
        ("closedlost", "Closed Lost", "0.0", "true"),
    ]),
    "renewals": ("Renewals", [
        ("renewal_due", "Renewal Due", "0.5", "false"),
        ("renewal_negotiation", "In Negotiation", "0.7", "false"),
        ("renewal_won", "Renewed", "1.0", "true"),
        ("renewal_lost", "Churned", "0.0", "true"),
    ]),
}

TICKET_PIPELINES = {"0": ("Support Pipeline", [("1", "New", "OPEN"), ("2", "Waiting on contact", "OPEN"),
                                               ("3", "Waiting on us", "OPEN"), ("4", "Closed", "CLOSED")])}


def _label(value: str) -> str:
    return value.replace("_", " ").title()


def _enum(name, label, values, group, labels=None):
    return {"name": name, "label": label, "type": "enumeration", "fieldType": "select", "groupName": group,
            "options": [{"label": (labels or {}).get(v, _label(v)), "value": v, "displayOrder": i, "hidden": False}
                        for i, v in enumerate(values)]}


def _p(name, label, type_="string", field="text", group="contactinformation", **extra):
    return {"name": name, "label": label, "type": type_, "fieldType": field, "groupName": group, "options": [], **extra}


def _record(group: str, *props: dict) -> list[dict]:
    """A commerce object's properties: its creation time and id, its own properties, its modification time."""
    return [_p("createdate", "Create Date", "datetime", "date", group),
            _p("hs_object_id", "Record ID", "number", "number", group, hasUniqueValue=True), *props,
            _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group)]


CUSTOM = "bookings"  # the portal's custom object: its name, as the sandbox keys it
CUSTOM_TYPE_ID = "2-7351"
_COMMON = [
    _p("createdate", "Create Date", "datetime", "date"),
    _p("hs_object_id", "Record ID", "number", "number", hasUniqueValue=True),
    _p("hubspot_owner_id", "Owner", "enumeration", "select"),
]
PROPERTIES = {
    "contacts": _COMMON + [
        _p("email", "Email", hasUniqueValue=True),
        _p("firstname", "First Name"),
        _p("lastname", "Last Name"),
        _p("phone", "Phone Number", field="phonenumber"),
        _p("company", "Company Name"),
        _p("jobtitle", "Job Title"),
        _p("city", "City"),
        _enum("lifecyclestage", "Lifecycle Stage", LIFECYCLE, "contactinformation",
              {"marketingqualifiedlead": "Marketing Qualified Lead", "salesqualifiedlead": "Sales Qualified Lead"}),
        _enum("hs_lead_status", "Lead Status", LEAD_STATUS, "sales_properties"),
        _enum("hs_analytics_source", "Original Source", SOURCES, "analyticsinformation"),
        _p("notes_next_activity_date", "Next Activity Date", "datetime", "date", "sales_properties", calculated=True),
        _p("lastmodifieddate", "Last Modified Date", "datetime", "date"),
        _p("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox"),
    ],
    "companies": _COMMON + [
        _p("name", "Company name", group="companyinformation"),
        _p("domain", "Company Domain Name", group="companyinformation", hasUniqueValue=True),
        _p("industry", "Industry", group="companyinformation"),
        _p("city", "City", group="companyinformation"),
        _p("numberofemployees", "Number of Employees", "number", "number", "companyinformation"),
        # Text fields an admin filled with dates and numbers (typed only as text: the console infers them)
        _p("contract_renewal", "Contract renewal", group="companyinformation"),
        _p("annual_revenue_text", "Annual revenue (as typed)", group="companyinformation"),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation"),
    ],
    "deals": _COMMON + [
        _p("dealname", "Deal Name", group="dealinformation"),
        _p("amount", "Amount", "number", "number", "dealinformation"),
        _enum("deal_currency_code", "Currency", CURRENCIES, "dealinformation",
              {"USD": "US Dollar", "CAD": "Canadian Dollar"}),
        _enum("pipeline", "Pipeline", list(PIPELINES), "dealinformation", {k: v[0] for k, v in PIPELINES.items()}),
        _enum("dealstage", "Deal Stage", [s[0] for _, stages in PIPELINES.values() for s in stages],
              "dealinformation", {s[0]: s[1] for _, stages in PIPELINES.values() for s in stages}),
        _p("closedate", "Close Date", "datetime", "date", "dealinformation"),
        _enum("hs_analytics_source", "Original Source", SOURCES, "dealinformation"),
        _p("notes_next_activity_date", "Next Activity Date", "datetime", "date", "dealinformation", calculated=True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation"),
    ],
    # HubSpot's commerce and service objects, which this portal uses (seeded: sandbox/seed_more.py)
    "products": _record("productinformation",
        _p("name", "Name", group="productinformation"),
        _p("price", "Unit price", "number", "number", "productinformation"),
        _p("hs_sku", "SKU", group="productinformation", hasUniqueValue=True),
        _p("description", "Description", field="textarea", group="productinformation"),
    ),
    "line_items": _record("lineiteminformation",
        _p("name", "Name", group="lineiteminformation"),
        _p("hs_product_id", "Product ID", "number", "number", "lineiteminformation"),
        _p("quantity", "Quantity", "number", "number", "lineiteminformation"),
        _p("price", "Unit price", "number", "number", "lineiteminformation"),
        _p("amount", "Net price", "number", "number", "lineiteminformation", calculated=True),
    ),
    "tickets": _COMMON + [
        _p("subject", "Ticket name", group="ticketinformation"),
        _p("content", "Ticket description", field="textarea", group="ticketinformation"),
        _enum("hs_pipeline", "Pipeline", ["0"], "ticketinformation", {"0": "Support Pipeline"}),
        _enum("hs_pipeline_stage", "Ticket status", ["1", "2", "3", "4"], "ticketinformation",
              {"1": "New", "2": "Waiting on contact", "3": "Waiting on us", "4": "Closed"}),
        _enum("hs_ticket_priority", "Priority", ["LOW", "MEDIUM", "HIGH"], "ticketinformation"),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "ticketinformation"),
    ],
    # The portal's custom object (Enterprise): its definition is served by /crm/v3/schemas
    CUSTOM: [
        _p("hs_object_id", "Record ID", "number", "number", "bookings_information", hasUniqueValue=True),
        _p("hs_createdate", "Create Date", "datetime", "date", "bookings_information"),
        _p("hubspot_owner_id", "Owner", "enumeration", "select", "bookings_information"),
        _p("booking_ref", "Booking reference", group="bookings_information", hasUniqueValue=True),
        _p("check_in", "Check-in", "date", "date", "bookings_information"),
        _p("nights", "Nights", "number", "number", "bookings_information"),
        _enum("room_type", "Room type", ["standard", "deluxe", "suite"], "bookings_information"),
        _enum("booking_status", "Status", ["confirmed", "cancelled", "completed"], "bookings_information"),
        _p("total", "Total", "number", "number", "bookings_information"),
        _p("guest_email", "Guest email", group="bookings_information"),
        # typed as text by the admin who made it, holding dates (the console infers them)
        _p("deposit_paid_on", "Deposit paid on", group="bookings_information"),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "bookings_information"),
    ],
}
for _props in PROPERTIES.values():
    for _prop in _props:
        _prop.setdefault("description", "")
        _prop.setdefault("hidden", False)
        _prop.setdefault("calculated", False)
        _prop.setdefault("hasUniqueValue", False)

MODIFIED_PROPERTY = {t: "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate" for t in PROPERTIES}
DATETIME_PROPS = {p["name"] for props in PROPERTIES.values() for p in props if p["type"] in ("datetime", "date")}
DATE_PROPS = {p["name"] for props in PROPERTIES.values() for p in props if p["type"] == "date"}  # shown as YYYY-MM-DD
NUMBER_PROPS = {p["name"] for props in PROPERTIES.values() for p in props if p["type"] == "number"}
TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-7": "products", "0-8": "line_items",
            "0-5": "tickets", CUSTOM_TYPE_ID: CUSTOM}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "products": "product",
            "line_items": "line_item", "tickets": "ticket", CUSTOM: "booking"}
SCOPE_NAMES = {CUSTOM: "custom"}  # a custom object's records are read with crm.objects.custom.read

# HubSpot's other standard objects (activities, quotes, goals…). The sandbox holds none of them, as a portal that never used them:
# their properties are served and their lists and searches answer empty (HubSpot answers an unused type
# with an empty list, never an error), so a client that discovers every type (a Singer tap) can run.
OTHER_TYPES = {  # canonical name -> (object type id, the names HubSpot also accepts, a type-specific property)
    "calls": ("0-48", ("call",), "hs_call_title"),
    "emails": ("0-49", ("email",), "hs_email_subject"),
    "meetings": ("0-47", ("meeting",), "hs_meeting_title"),
    "notes": ("0-46", ("note",), "hs_note_body"),
    "tasks": ("0-27", ("task",), "hs_task_subject"),
    "communications": ("0-18", ("communication",), "hs_communication_body"),
    "postal_mail": ("0-116", (), "hs_postal_mail_body"),
    "quotes": ("0-14", ("quote",), "hs_title"),
    "goal_targets": ("0-74", ("goal_target",), "hs_goal_name"),
    "leads": ("0-136", ("lead",), "hs_lead_name"),
    "feedback_submissions": ("0-19", ("feedback_submission",), "hs_survey_name"),
}
OTHER_NAMES = {alias: name for name, (type_id, aliases, _) in OTHER_TYPES.items() for alias in (name, type_id, *aliases)}
OTHER_PROPERTIES = {name: [
    _p("hs_object_id", "Record ID", "number", "number", group="default", hasUniqueValue=True),
    _p("hs_createdate", "Create Date", "datetime", "date", group="default"),
    _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group="default"),
    _p("hubspot_owner_id", "Owner", "enumeration", "select", group="default"),
    _p(special, _label(special.removeprefix("hs_")), group="default"),
] for name, (_, _, special) in OTHER_TYPES.items()}


def unique_property(object_type: str, name: str) -> bool:
    """Whether `name` holds unique values (email, domain, the record id, a custom unique property)."""
    return name in UNIQUE.get(object_type, ())


UNIQUE = {t: {p["name"] for p in props if p.get("hasUniqueValue")} for t, props in PROPERTIES.items()}


def custom_schema(portal_id: int) -> dict:
    """The custom object's definition, as /crm/v3/schemas answers it."""
    return {"id": CUSTOM_TYPE_ID.split("-")[1], "objectTypeId": CUSTOM_TYPE_ID, "name": CUSTOM,
            "fullyQualifiedName": f"p{portal_id}_{CUSTOM}", "labels": {"singular": "Booking", "plural": "Bookings"},
            "primaryDisplayProperty": "booking_ref", "secondaryDisplayProperties": ["check_in"],
            "requiredProperties": ["booking_ref"], "searchableProperties": ["booking_ref", "guest_email"],
            "properties": PROPERTIES[CUSTOM], "metaType": "PORTAL_SPECIFIC", "archived": False,
            "createdAt": "2025-06-02T09:00:00.000Z", "updatedAt": "2025-06-02T09:00:00.000Z",
            "associations": [{"id": "1001", "fromObjectTypeId": CUSTOM_TYPE_ID, "toObjectTypeId": "0-1",
                              "name": f"{CUSTOM}_to_contacts"}]}
