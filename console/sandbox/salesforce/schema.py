"""The org's sObjects and their fields as `describe` answers them: Lead, Contact, Account, Opportunity and
User, each with the system fields every record has, and the external-id field the console upserts on."""
from __future__ import annotations

from dataclasses import dataclass, field

EXTERNAL_ID = "Connector_Console_Id__c"
SYSTEM = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id, string, email, phone, url, picklist, reference, datetime, date, boolean, currency, double, …
    label: str
    length: int = 0
    required: bool = False          # not nillable and no default: a create without it is refused
    system: bool = False            # set by the org (never created or updated through the API)
    external_id: bool = False
    unique: bool = False
    refers_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    calculated: bool = False

    @property
    def writable(self) -> bool:
        return not (self.system or self.calculated or self.type == "id")


def _system() -> list[Field]:
    return [Field("Id", "id", "Record ID", 18, system=True), Field("IsDeleted", "boolean", "Deleted", system=True),
            Field("CreatedDate", "datetime", "Created Date", system=True),
            Field("CreatedById", "reference", "Created By ID", 18, system=True, refers_to=("User",)),
            Field("LastModifiedDate", "datetime", "Last Modified Date", system=True),
            Field("LastModifiedById", "reference", "Last Modified By ID", 18, system=True, refers_to=("User",)),
            Field("SystemModstamp", "datetime", "System Modstamp", system=True)]


def _owned() -> list[Field]:
    return [Field("OwnerId", "reference", "Owner ID", 18, refers_to=("User",)),
            Field(EXTERNAL_ID, "string", "Connector Console Id", 64, external_id=True, unique=True)]


LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
LEAD_SOURCE = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRY = ("Agriculture", "Banking", "Education", "Healthcare", "Retail", "Technology")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
          "Closed Won", "Closed Lost")
RENEWAL_STAGES = ("Renewal Due", "Negotiation/Review", "Closed Won", "Closed Lost")


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    plural: str
    fields: tuple[Field, ...]
    # record type name -> the picklist values it allows, by field (a field it does not name: every value)
    record_types: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    createable: bool = True  # through the API (users and stages are set up in Setup)

    def field(self, name: str) -> Field | None:
        return _index(self).get(name.lower())


_INDEXES: dict[str, dict[str, Field]] = {}


def _index(obj: SObject) -> dict[str, Field]:
    if obj.name not in _INDEXES:
        _INDEXES[obj.name] = {f.name.lower(): f for f in obj.fields}
    return _INDEXES[obj.name]


OBJECTS = {o.name: o for o in (
    SObject("Account", "Account", "Accounts", (*_system(), Field("Name", "string", "Account Name", 255, required=True),
            Field("Website", "url", "Website", 255), Field("Phone", "phone", "Account Phone", 40),
            Field("Industry", "picklist", "Industry", 255, picklist=INDUSTRY), *_owned())),
    SObject("Contact", "Contact", "Contacts", (*_system(), Field("FirstName", "string", "First Name", 40),
            Field("LastName", "string", "Last Name", 80, required=True), Field("Email", "email", "Email", 80),
            Field("Phone", "phone", "Business Phone", 40), Field("Title", "string", "Title", 128),
            Field("AccountId", "reference", "Account ID", 18, refers_to=("Account",)),
            Field("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCE),
            Field("Name", "string", "Full Name", 121, calculated=True), *_owned())),
    SObject("Lead", "Lead", "Leads", (*_system(), Field("FirstName", "string", "First Name", 40),
            Field("LastName", "string", "Last Name", 80, required=True),
            Field("Company", "string", "Company", 255, required=True), Field("Email", "email", "Email", 80),
            Field("Phone", "phone", "Phone", 40), Field("Status", "picklist", "Status", 255, picklist=LEAD_STATUS),
            Field("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCE),
            Field("IsConverted", "boolean", "Converted", system=True),
            Field("ConvertedContactId", "reference", "Converted Contact ID", 18, system=True, refers_to=("Contact",)),
            Field("ConvertedAccountId", "reference", "Converted Account ID", 18, system=True, refers_to=("Account",)),
            Field("Name", "string", "Full Name", 121, calculated=True), *_owned())),
    SObject("Opportunity", "Opportunity", "Opportunities", (
            *_system(), Field("Name", "string", "Name", 120, required=True),
            Field("AccountId", "reference", "Account ID", 18, refers_to=("Account",)),
            Field("Amount", "currency", "Amount"), Field("CloseDate", "date", "Close Date", required=True),
            Field("StageName", "picklist", "Stage", 255, required=True, picklist=tuple(dict.fromkeys(STAGES + RENEWAL_STAGES))),
            Field("RecordTypeId", "reference", "Record Type ID", 18, refers_to=("RecordType",)),
            Field("IsClosed", "boolean", "Closed", calculated=True), Field("IsWon", "boolean", "Won", calculated=True),
            *_owned()),
            record_types={"Standard": {"StageName": STAGES}, "Renewal": {"StageName": RENEWAL_STAGES}}),
    SObject("User", "User", "Users", (*_system(), Field("FirstName", "string", "First Name", 40),
            Field("LastName", "string", "Last Name", 80, required=True), Field("Email", "email", "Email", 128, required=True),
            Field("Username", "string", "Username", 80, required=True), Field("IsActive", "boolean", "Active"),
            Field("Name", "string", "Full Name", 121, calculated=True)), createable=False),
    SObject("OpportunityStage", "Opportunity Stage", "Opportunity Stages", (
            *_system(), Field("ApiName", "string", "Api Name", 255, system=True),
            Field("MasterLabel", "string", "Master Label", 255, system=True),
            Field("IsActive", "boolean", "Active", system=True), Field("IsClosed", "boolean", "Closed", system=True),
            Field("IsWon", "boolean", "Won", system=True), Field("SortOrder", "double", "Sort Order", system=True),
            Field("DefaultProbability", "percent", "Probability (%)", system=True)), createable=False),
)}


def sobject(name: str) -> SObject | None:
    """An sObject by name, case-insensitively, as Salesforce resolves it."""
    return next((o for key, o in OBJECTS.items() if key.lower() == name.lower()), None)
