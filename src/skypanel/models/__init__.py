"""Every ORM table. Importing this package registers them all on `Base.metadata`."""

from skypanel.models.accounts import RefreshToken, User
from skypanel.models.activity import ActivityLog
from skypanel.models.base import Base
from skypanel.models.easypanel import EasypanelServer
from skypanel.models.organizations import Membership, Organization
from skypanel.models.settings import PlatformSetting
from skypanel.models.wallet import PaymentTransaction, Wallet

__all__ = [
    "ActivityLog",
    "Base",
    "EasypanelServer",
    "Membership",
    "Organization",
    "PaymentTransaction",
    "PlatformSetting",
    "RefreshToken",
    "User",
    "Wallet",
]
