from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from skypanel.kit.money import Money, MoneyIn
from skypanel.kit.schema import ApiModel, InputModel

Cores = Field(gt=0, le=1024, max_digits=6, decimal_places=2)
Gigabytes = Field(gt=0, le=100_000, max_digits=8, decimal_places=2)


class PlanOut(ApiModel):
    id: uuid.UUID
    name: str
    description: str | None
    price_monthly: Money = Field(validation_alias="price_monthly_cents")
    currency: str
    max_cpu_cores: float
    max_memory_gb: float
    max_storage_gb: int
    max_containers: int
    active: bool
    created_at: datetime
    updated_at: datetime


class PlanIn(InputModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    price_monthly: MoneyIn
    max_cpu_cores: Decimal = Cores
    max_memory_gb: Decimal = Gigabytes
    max_storage_gb: int = Field(gt=0, le=1_000_000)
    max_containers: int = Field(gt=0, le=10_000)
    active: bool = True


class PlanUpdate(InputModel):
    """Every field optional; only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    price_monthly: MoneyIn | None = None
    max_cpu_cores: Decimal | None = Field(
        default=None, gt=0, le=1024, max_digits=6, decimal_places=2
    )
    max_memory_gb: Decimal | None = Field(
        default=None, gt=0, le=100_000, max_digits=8, decimal_places=2
    )
    max_storage_gb: int | None = Field(default=None, gt=0, le=1_000_000)
    max_containers: int | None = Field(default=None, gt=0, le=10_000)

    @field_validator(
        "name",
        "price_monthly",
        "max_cpu_cores",
        "max_memory_gb",
        "max_storage_gb",
        "max_containers",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Omitting a field keeps it; `null` would erase a value every plan must have."""
        if value is None:
            raise ValueError("cannot be null; omit the field to keep its value")
        return value
