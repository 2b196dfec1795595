"""Imports every module that registers operation handlers, so any process can deliver them."""

from skypanel.projects import operations as project_operations
from skypanel.services import operations as service_operations
from skypanel.services import templated
from skypanel.subscriptions import provisioning

__all__ = ["project_operations", "provisioning", "service_operations", "templated"]
