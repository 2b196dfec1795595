"""Imports every module that registers operation handlers, so any process can deliver them."""

from skypanel.services import operations as service_operations
from skypanel.subscriptions import provisioning

__all__ = ["provisioning", "service_operations"]
