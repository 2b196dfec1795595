from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, field_validator

from skypanel.kit.money import Money, MoneyIn
from skypanel.kit.schema import ApiModel, InputModel

Cores = Field(gt=0, le=1024, max_digits=6, decimal_places=2)
Gigabytes = Field(gt=0, le=100_000, max_digits=8, decimal_places=2)
Region = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="A label such as eu-west: lowercase letters, digits and dashes",
    ),
]
Regions: Any = Field(
    default_factory=list,
    max_length=50,
    description="The server regions that may host the plan; empty: any region",
)


def _region_list(value: Any) -> Any:
    """A form sends the regions as one comma-separated text, the API as a list; kept sorted."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(set(value))
    return value


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
    regions: list[str]
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
    regions: list[Region] = Regions
    active: bool = True

    _regions = field_validator("regions", mode="before")(_region_list)


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
    regions: list[Region] | None = Field(default=None, max_length=50)

    _regions = field_validator("regions", mode="before")(_region_list)

    @field_validator(
        "name",
        "price_monthly",
        "max_cpu_cores",
        "max_memory_gb",
        "max_storage_gb",
        "max_containers",
        "regions",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Omitting a field keeps it; `null` would erase a value every plan must have."""
        if value is None:
            raise ValueError("cannot be null; omit the field to keep its value")
        return value
