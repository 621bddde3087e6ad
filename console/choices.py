"""Status enums carrying value, label and tone in one place, for models, templates and tests.

Columns store the plain string value (portable across SQLite and MySQL, no native ENUM to migrate).
"""
from __future__ import annotations

from enum import Enum
from typing import cast


class Choice(str, Enum):
    """A string enum whose members also carry a human label and a display tone."""

    label: str
    tone: str

    # `label` has a default only so that a lookup by value (`WizardStep("access")`) type-checks as a call
    def __new__(cls, value: str, label: str = "", tone: str = "neutral") -> Choice:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        obj.tone = tone
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def options(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        member = cast("Choice | None", cls._value2member_map_.get(value))  # a dict lookup: pages call this often
        return member.label if member is not None else (value or "")

    @classmethod
    def tone_of(cls, value: str | None) -> str:
        member = cast("Choice | None", cls._value2member_map_.get(value))
        return member.tone if member is not None else "neutral"


class Role(Choice):
    ADMIN = ("admin", "Admin", "accent")
    OWNER = ("owner", "Integration owner", "info")
    OPS = ("ops", "Ops", "info")
    CLIENT = ("client", "Client", "neutral")


STAFF_ROLES = (Role.ADMIN, Role.OWNER, Role.OPS)


class Environment(Choice):
    SANDBOX = ("sandbox", "Sandbox", "info")
    PRODUCTION = ("production", "Production", "accent")


class ConnectionStatus(Choice):
    DRAFT = ("draft", "Draft", "neutral")
    TESTING = ("testing", "Testing", "info")
    LIVE = ("live", "Live", "good")
    PAUSED = ("paused", "Paused", "warn")
    FAILED = ("failed", "Failed", "bad")
    REVOKED = ("revoked", "Revoked", "bad")


# Jobs run on their schedule only while the connection is live: before go-live nothing syncs except what a
# person queues (test batches, the first complete sync), so no data flows before the gate.
SCHEDULED_STATUSES = (ConnectionStatus.LIVE.value,)
# What a client may see: a connection that went live (and stays visible while paused).
CLIENT_FACING_STATUSES = (ConnectionStatus.LIVE.value, ConnectionStatus.PAUSED.value)


class ObjectType(Choice):
    CONTACTS = ("contacts", "Contacts")
    COMPANIES = ("companies", "Companies")
    DEALS = ("deals", "Deals")


# Companies sync before the contacts and deals that associate with them.
SYNC_ORDER = (ObjectType.COMPANIES.value, ObjectType.CONTACTS.value, ObjectType.DEALS.value)


class AuthType(Choice):
    PRIVATE_APP = ("private_app", "Private-app token")
    OAUTH = ("oauth", "OAuth 2.0")
    FILE_UPLOAD = ("file_upload", "File upload")
    SIGNED_WEBHOOK = ("signed_webhook", "Signed webhook")


class CredentialStatus(Choice):
    UNKNOWN = ("unknown", "Not checked", "neutral")
    VALID = ("valid", "Valid", "good")
    INVALID = ("invalid", "Invalid", "bad")
    REVOKED = ("revoked", "Revoked", "bad")


class RunKind(Choice):
    SCHEDULED = ("scheduled", "Scheduled")
    MANUAL = ("manual", "Manual")
    TEST_BATCH = ("test_batch", "Test batch")
    BACKFILL = ("backfill", "Backfill")
    REPLAY = ("replay", "Replay")
    CSV_IMPORT = ("csv_import", "CSV import")
    WEBHOOK = ("webhook", "Webhook")
    RECONCILE = ("reconcile", "Reconcile repair")
    OUTBOUND = ("outbound", "Outbound push")


class Direction(Choice):
    """Which way a field (or an object type) flows between the provider and the console."""

    INBOUND = ("in", "Provider → console")
    OUTBOUND = ("out", "Console → provider")
    BOTH = ("both", "Both ways")


# The directions in which the console writes to the provider (a field's, or an object type's).
PUSHING = (Direction.OUTBOUND.value, Direction.BOTH.value)


class SystemOfRecord(Choice):
    """Who wins when a two-way field changed on both sides since the last sync."""

    PROVIDER = ("provider", "The CRM")
    CONSOLE = ("console", "The console")


class WriteCondition(Choice):
    """When an outbound write of a field goes ahead (checked from one batch read per 100 records)."""

    ALWAYS = ("", "Always")
    IF_EMPTY = ("if_empty", "Only if empty in the CRM")
    NOT_NEWER = ("not_newer", "Never overwrite a newer CRM value")


class ChangeStatus(Choice):
    """A console-side change waiting for, or done with, its outbound write."""

    PENDING = ("pending", "Waiting to be written", "info")
    WRITTEN = ("written", "Written", "good")
    SKIPPED = ("skipped", "Skipped", "neutral")
    SUPERSEDED = ("superseded", "Superseded by the CRM", "warn")
    FAILED = ("failed", "Failed", "bad")
    DEAD_LETTER = ("dead_letter", "Dead letter", "bad")
    WITHDRAWN = ("withdrawn", "Withdrawn: the field went back to its value")


class RunStatus(Choice):
    QUEUED = ("queued", "Queued", "neutral")
    RUNNING = ("running", "Running", "info")
    SUCCEEDED = ("succeeded", "Succeeded", "good")
    PARTIAL = ("partial", "Partial", "warn")
    FAILED = ("failed", "Failed", "bad")
    CANCELLED = ("cancelled", "Cancelled", "neutral")


class ErrorStage(Choice):
    FETCH = ("fetch", "Fetch")
    MAP = ("map", "Map")
    VALIDATE = ("validate", "Validate")
    WRITE = ("write", "Write")


class ErrorStatus(Choice):
    OPEN = ("open", "Open", "bad")
    RETRYING = ("retrying", "Retrying", "warn")
    DEAD_LETTER = ("dead_letter", "Dead letter", "bad")
    RESOLVED = ("resolved", "Resolved", "good")
    IGNORED = ("ignored", "Ignored", "neutral")


class WebhookStatus(Choice):
    RECEIVED = ("received", "Received", "info")
    NORMALIZED = ("normalized", "Normalized", "good")
    FAILED = ("failed", "Failed", "bad")
    RETRYING = ("retrying", "Retrying", "warn")
    DEAD_LETTER = ("dead_letter", "Dead letter", "bad")
    IGNORED = ("ignored", "Ignored", "neutral")


class ImportStatus(Choice):
    UPLOADED = ("uploaded", "Uploaded", "info")
    QUEUED = ("queued", "Queued", "info")
    RUNNING = ("running", "Running", "info")
    SUCCEEDED = ("succeeded", "Imported", "good")
    PARTIAL = ("partial", "Imported with errors", "warn")
    FAILED = ("failed", "Failed", "bad")
    EXPIRED = ("expired", "Expired, never imported")  # removed by retention after CONSOLE_UPLOAD_KEEP_DAYS


class WizardStep(Choice):
    ACCESS = ("access", "Access")
    CONNECTION = ("connection", "Connection")
    MAPPING = ("mapping", "Mapping")
    TEST = ("test", "Test")
    REPORT = ("report", "Report")
    MONITOR = ("monitor", "Monitor")


class NoteStatus(Choice):
    DRAFT = ("draft", "Draft", "neutral")
    PUBLISHED = ("published", "Published", "good")
    WITHDRAWN = ("withdrawn", "Withdrawn", "warn")


class MetricStatus(Choice):
    ON_TRACK = ("on_track", "On track", "good")
    NEEDS_ATTENTION = ("needs_attention", "Needs attention", "warn")
    STALE = ("stale", "Data is stale", "bad")
    NO_DATA = ("no_data", "No data yet", "neutral")


class AutomationKind(Choice):
    AFTER_SYNC = ("metrics_after_sync", "Metrics after a sync")
    ON_DEMAND = ("metrics_on_demand", "Metrics on demand")


class AlertSeverity(Choice):
    INFO = ("info", "Info", "info")
    WARNING = ("warning", "Warning", "warn")
    CRITICAL = ("critical", "Critical", "bad")


class AlertStatus(Choice):
    OPEN = ("open", "Open", "bad")
    ACKNOWLEDGED = ("acknowledged", "Acknowledged", "warn")
    RESOLVED = ("resolved", "Resolved", "good")
