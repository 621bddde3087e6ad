"""All models, importable from one place (Alembic and Flask-Migrate read this)."""
from .accounts import Client, LoginAttempt, User, UserInvitation
from .audit import EventAdminAction
from .connections import ConnectionChecklistItem, IntegrationConnection
from .crm import CrmAssociation, CrmLead, CrmLeadEvent
from .imports import CsvImport, CsvImportTemplate
from .intake import DesignVersion, IntakeAnswer, IntakeAttachment
from .maintenance import MaintenanceTask
from .mapping import (
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    IntegrationObjectType,
    IntegrationSchemaDrift,
    IntegrationSchemaSnapshot,
)
from .metrics import AutomationRun, MetricBaseline, MetricSnapshot, ReportNote
from .monitoring import DataQualityCheck, MonitorAlert
from .providers import IntegrationProvider, IntegrationProviderAccount, ProviderCallBudget
from .sync import (
    ConnectionHour,
    IntegrationErrorNote,
    IntegrationReconciliation,
    IntegrationSyncError,
    IntegrationSyncJob,
    IntegrationSyncRun,
    IntegrationValueWaiver,
)
from .traffic import (
    EventWebhookEvent,
    IntegrationNormalizedEvent,
    IntegrationRawEvent,
    IntegrationRequestLog,
    UploadChunk,
    WebhookRejection,
)
from .twoway import CrmLeadChange, CrmLeadLink, CrmSyncConflict, CrmWriteLedger

# Every model holding vault secrets; `flask keys rotate` walks these.
SECRET_MODELS = (IntegrationProviderAccount,)

__all__ = [
    "AutomationRun", "Client", "ConnectionHour",
    "CrmAssociation", "CrmLeadChange", "CrmLeadLink", "CrmSyncConflict", "CrmWriteLedger", "DataQualityCheck",
    "ConnectionChecklistItem", "CrmLead", "CrmLeadEvent", "CsvImport",
    "CsvImportTemplate", "DesignVersion", "IntakeAnswer", "IntakeAttachment", "MaintenanceTask", "UploadChunk", "UserInvitation",
    "WebhookRejection",
    "EventAdminAction", "EventWebhookEvent", "IntegrationConnection", "IntegrationEnumMapping", "IntegrationErrorNote",
    "IntegrationFieldMapping",
    "IntegrationObjectType", "IntegrationNormalizedEvent", "IntegrationProvider",
    "IntegrationProviderAccount", "ProviderCallBudget",
    "IntegrationRawEvent", "IntegrationRequestLog", "IntegrationReconciliation",
    "IntegrationSchemaDrift", "IntegrationSchemaSnapshot",
    "IntegrationSyncError",
    "IntegrationSyncJob", "IntegrationSyncRun", "IntegrationValueWaiver", "LoginAttempt", "MetricBaseline",
    "MetricSnapshot", "MonitorAlert", "ReportNote", "SECRET_MODELS", "User",
]
