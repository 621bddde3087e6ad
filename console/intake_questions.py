"""The intake's questions, in the sections the agency's intake form uses (seeds/002): what each asks,
an example answer, and what it feeds (the wizard step or the design document section it drives)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    hint: str = ""
    feeds: str = ""  # where the answer goes: a wizard step or a design section, in words
    attach: str = ""  # the kinds of file this question takes as its answer too ("csv json openapi")


@dataclass(frozen=True)
class Section:
    key: str
    number: int
    title: str
    purpose: str
    questions: tuple[Question, ...]


SECTIONS: tuple[Section, ...] = (
    Section("about", 0, "About you", "The people we'll coordinate with on the build.", (
        Question("about_company", "Company and the team behind this integration"),
        Question("about_contact", "Who fills this in, and how to reach them",
                 "e.g. Dana Roy, operations lead, dana@example.com"),
    )),
    Section("topology", 1, "Topology & systems of record",
            "The authoritative direction of flow and ownership map: the contract the whole build is verified against.", (
        Question("topology_flows", "Direction of flow, one line per object",
                 'e.g. "Members: SourceApp to HubSpot Contacts (one-way). Deals: bidirectional. '
                 'Products: HubSpot to SourceApp."', "each object's direction (mapping step)"),
        Question("topology_records", "System of record for each group of fields",
                 'e.g. "Contact demographics: SourceApp. Lifecycle stage: HubSpot. Deal amount: SourceApp."',
                 "each field's system of record (mapping step)"),
        Question("topology_systems", "Systems, hops and what each does",
                 "Note any existing iPaaS (Workato, Celigo, Tray, Skyvia, custom)."),
    )),
    Section("use_cases", 2, "Use cases & object model",
            "Every business use case, and the HubSpot object and association model it requires.", (
        Question("use_cases", "Business use cases",
                 'e.g. "UC-01: New paid reservation creates/updates a Deal. UC-02: Membership cancellation sets '
                 'a Contact property and removes from nurture."'),
        Question("custom_objects", "Custom objects",
                 "Custom objects need Enterprise (or Sales/Service Enterprise / Ops Hub) and have their own API "
                 "and association design."),
        Question("associations", "Associations and their labels",
                 'e.g. "Each Reservation associated to one Contact and one Company; label = primary booker; many-to-many."'),
    )),
    Section("mapping", 3, "Field mapping & transformations",
            "The field-by-field contract: every source field, its destination property, the transformation, "
            "and the edge cases.", (
        Question("source_schema", "Source fields: attach CSV headers, a JSON sample or a data dictionary",
                 "Actual field names and sample values, please: this is the source of truth for the mapping.",
                 "the mapping step's suggestions", attach="csv json"),
        Question("picklists", "Picklist option values for dropdown and select fields",
                 "One line per field: field: value, value, value", "the enum mappings (mapping step)"),
        Question("transformations", "Transformations",
                 "Date and time-zone formats, case and whitespace, picklist values, splitting and joining, "
                 "unit and currency conversion, type coercion."),
        Question("never_leave", "Fields that must never leave the source",
                 "e.g. SSN, internal flags. One field name per line.",
                 "left out of the mapping, raw events, logs and archives"),
        Question("matching", "Matching rules",
                 'e.g. "Contacts matched on email, fallback to external_id. Companies on domain."',
                 "the upsert keys"),
        Question("lookups", "Lookup tables and assignment rules",
                 "e.g. region code to region name, owner-assignment rules, currency conversion table."),
    )),
    Section("source_api", 4, "Source API deep dive",
            "The exact endpoints, auth and operational limits, so the adapter can be built and load-tested without guesswork.", (
        Question("endpoints", "Endpoints",
                 'e.g. "GET /v2/reservations (list, paginated), GET /v2/members/{id}, POST /v2/contacts."'),
        Question("api_spec", "API document: attach an OpenAPI (JSON or YAML) document, or paste a share link",
                 "Remove any real secrets or personal data first.", "the mapping step's suggestions",
                 attach="openapi json"),
        Question("api_auth", "Authentication",
                 "OAuth client credentials or auth code, token lifetime and refresh, where keys are issued, "
                 "IP allowlisting, mTLS, per-tenant or global credentials."),
        Question("api_limits", "Rate limits",
                 "Requests per second, daily caps, bursts, 429 behaviour, Retry-After, per endpoint or global."),
        Question("api_changes", "How changes are found",
                 "A modified-since filter, a change feed, or a full scan; any maximum date range."),
    )),
    Section("environments", 5, "Environments, sandbox & deployment",
            "Where we can build and verify safely, where the runtime lives, and how it ships.", (
        Question("hubspot_tier", "HubSpot tier and sandbox",
                 "Standard or Enterprise CRM development sandboxes; which tier the portal is."),
        Question("runtime", "Where the integration runs",
                 "iPaaS, our cloud, your cloud, Operations Hub custom-coded actions, serverless functions."),
        Question("secrets_home", "Where secrets are kept", "A vault, environment variables, a key-management service."),
        Question("instance_ids", "Portal and instance ids", "HubSpot portal ids (sandbox and production), source instance ids."),
    )),
    Section("reliability", 6, "Reliability & backfill",
            "How the integration behaves under failure, replay and load.", (
        Question("idempotency", "Idempotency",
                 "Idempotency keys, upsert on an external-id property, dedup before write, a processed-event ledger."),
        Question("loop_prevention", "Loop prevention (two-way)",
                 "e.g. a source-of-change marker, a suppress window, a last-sync hash comparison."),
        Question("retries", "Retries and replay", "Maximum attempts, backoff, dead-letter queue, manual replay."),
        Question("backfill", "Backfill plan",
                 "Volume, order, throttling against HubSpot's limits, how counts are verified."),
        Question("blackouts", "Blackout windows", "e.g. source maintenance 11pm-2am ET; do not run during the nightly batch.",
                 "the job settings"),
        Question("dependencies", "Dependency order", "e.g. a Company must exist before a Contact association.",
                 "the job settings"),
    )),
    Section("monitoring", 7, "Monitoring, SLAs & acceptance",
            'What "healthy" and "done" mean: how it is observed, what counts as a breach, the sign-off criteria.', (
        Question("monitoring", "What is watched", "Dashboards, failure alerts, latency alerts, volume-anomaly alerts."),
        Question("alert_channels", "Where alerts go", "Email, Slack, PagerDuty.", "the monitor step's alert channel"),
        Question("sla", "Freshness SLA", 'e.g. "records reflected in HubSpot within 5 minutes 99% of the time."',
                 "the monitor step's freshness target"),
        Question("quality", "Data-quality thresholds",
                 "Required-field completeness, referential integrity, duplicate rate.", "the monitor step's thresholds"),
        Question("acceptance", "Acceptance criteria",
                 'e.g. "counts match within 0.1%", "p99 freshness 5 min".', "checks in the go-live gate"),
    )),
    Section("compliance", 8, "Compliance & data governance",
            "The regulatory and security obligations that constrain how data may be moved, stored, masked and retained.", (
        Question("sensitive", "Fields that must never enter middleware logs",
                 "One field name per line.", "masked in logs and error messages"),
        Question("consent", "Consent", "e.g. CASL implied vs express consent; default OKToEmail handling; subscription types."),
        Question("retention", "Retention and archives",
                 "e.g. CIRO 7-year books-and-records may require an archive beyond HubSpot's window."),
    )),
    Section("stakeholders", 9, "Stakeholders, access & logistics",
            "Who we work with, how we get access, and the operational realities that shape delivery.", (
        Question("stakeholders", "Stakeholders",
                 "Business owner, technical owner of HubSpot, technical owner of the source system, "
                 "security/compliance approver, day-to-day point of contact. One per line: role: name, email.",
                 "the owner and the failure path contacts"),
        Question("access", "Access we need",
                 "HubSpot private app token with scopes (crm.objects.* read/write, custom object schema, webhooks)."),
        Question("blockers", "Known blockers", "Pending vendor work, data cleanup, licence upgrades, a pending tier change."),
    )),
)

QUESTIONS: dict[str, Question] = {q.key: q for s in SECTIONS for q in s.questions}
SECTION_OF: dict[str, Section] = {q.key: s for s in SECTIONS for q in s.questions}
MAX_ANSWER_CHARS = 20_000
