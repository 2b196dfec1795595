"""Every ORM table. Importing this package registers them all on `Base.metadata`."""

from skypanel.models.accounts import AccountToken, RefreshToken, SignInFailure, User
from skypanel.models.activity import ActivityLog
from skypanel.models.backups import BackupRun, BackupSchedule, BackupStorage, BackupStorageServer
from skypanel.models.base import Base
from skypanel.models.claims import ServiceDomain, ServicePort
from skypanel.models.counts import PlatformCount, PlatformCountChange
from skypanel.models.deployments import DeployHook, ServiceDeployment
from skypanel.models.easypanel import EasypanelServer
from skypanel.models.invitations import Invitation
from skypanel.models.invoices import BillingDocument, BillingProfile, DocumentCounter, TaxRate
from skypanel.models.moves import OrganizationMove
from skypanel.models.notices import Event, Notification, NotificationPreference, OutboxMessage
from skypanel.models.operations import EasypanelAuditLog, EasypanelOperation
from skypanel.models.organizations import Membership, Organization
from skypanel.models.payments import (
    AutoRecharge,
    PaymentGateway,
    PaymentNotification,
    TopUp,
    TopUpRefund,
)
from skypanel.models.plans import ContainerPlan
from skypanel.models.projects import ContainerProject, ContainerService
from skypanel.models.settings import PlatformSetting
from skypanel.models.subscriptions import BillingCycle, ContainerSubscription, IdempotencyKey
from skypanel.models.templates import ContainerTemplate
from skypanel.models.wallet import PaymentTransaction, Wallet
from skypanel.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountToken",
    "ActivityLog",
    "AutoRecharge",
    "BackupRun",
    "BackupSchedule",
    "BackupStorage",
    "BackupStorageServer",
    "Base",
    "BillingCycle",
    "BillingDocument",
    "BillingProfile",
    "ContainerPlan",
    "ContainerProject",
    "ContainerService",
    "ContainerSubscription",
    "ContainerTemplate",
    "DeployHook",
    "DocumentCounter",
    "EasypanelAuditLog",
    "EasypanelOperation",
    "EasypanelServer",
    "Event",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Notification",
    "NotificationPreference",
    "Organization",
    "OrganizationMove",
    "OutboxMessage",
    "PaymentGateway",
    "PaymentNotification",
    "PaymentTransaction",
    "PlatformCount",
    "PlatformCountChange",
    "PlatformSetting",
    "RefreshToken",
    "ServiceDeployment",
    "ServiceDomain",
    "ServicePort",
    "SignInFailure",
    "TaxRate",
    "TopUp",
    "TopUpRefund",
    "User",
    "Wallet",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
