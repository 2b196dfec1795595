from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from skypanel.invoices.tax import BPS, format_rate, normalise_vat_number
from skypanel.kit.money import Money
from skypanel.kit.schema import ApiModel, InputModel

_RATE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,2})?$", re.ASCII)

Country = Annotated[
    str,
    Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2", examples=["DE"]),
    AfterValidator(str.upper),
]

Rate = Annotated[int, PlainSerializer(format_rate, return_type=str)]
"""A tax rate: basis points in Python, a percentage string like `"19.00"` on the wire."""


class LineOut(ApiModel):
    description: str
    quantity: int
    unit_price: Money = Field(validation_alias="unit_cents")
    net: Money = Field(validation_alias="net_cents")
    tax: Money = Field(validation_alias="tax_cents")
    total: Money = Field(validation_alias="total_cents")


class DocumentOut(ApiModel):
    id: uuid.UUID
    kind: str
    number: str
    issued_at: datetime
    currency: str
    subtotal: Money = Field(validation_alias="subtotal_cents")
    tax: Money = Field(validation_alias="tax_cents")
    total: Money = Field(validation_alias="total_cents")
    tax_rate: Rate = Field(validation_alias="tax_rate_bps")
    tax_name: str | None
    tax_mention: str | None
    seller: dict[str, Any]
    buyer: dict[str, Any]
    lines: list[LineOut]
    reference_type: str
    reference_id: uuid.UUID
    related_document_id: uuid.UUID | None


class DocumentPage(ApiModel):
    items: list[DocumentOut]
    next_cursor: str | None


class BillingProfileIn(InputModel):
    """The buyer on the organization's documents. `country` comes before `vatNumber`, which is
    checked against it (format and check digits, python-stdnum)."""

    legal_name: str = Field(min_length=1, max_length=200)
    address_line1: str = Field(min_length=1, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    country: Country
    vat_number: str | None = Field(default=None, max_length=30)
    is_business: bool = Field(
        default=False, description="A business buyer; always true with a VAT number"
    )

    @field_validator("address_line2", "region", "vat_number")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("vat_number")
    @classmethod
    def _valid_vat(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:
            return value
        return normalise_vat_number(country, value)

    def values(self) -> dict[str, Any]:
        values = self.model_dump(by_alias=False)
        values["is_business"] = self.is_business or self.vat_number is not None
        return values


class BillingProfileOut(ApiModel):
    organization_id: uuid.UUID
    legal_name: str
    address_line1: str
    address_line2: str | None
    postal_code: str
    city: str
    region: str | None
    country: str
    vat_number: str | None
    is_business: bool
    updated_at: datetime


def _rate_bps(value: Any) -> int:
    if not isinstance(value, str) or not _RATE.fullmatch(value.strip()):
        raise ValueError('must be a percentage with at most two decimal places, like "19.00"')
    whole, _, part = value.strip().partition(".")
    bps = int(whole) * 100 + int(part.ljust(2, "0"))
    if bps > BPS:
        raise ValueError("must be at most 100.00")
    return bps


RateIn = Annotated[
    int,
    BeforeValidator(_rate_bps),
    WithJsonSchema({"type": "string", "pattern": _RATE.pattern, "examples": ["19.00"]}),
]
"""A tax rate input: a percentage string on the wire, basis points in Python."""


class TaxRateIn(InputModel):
    rate: RateIn
    name: str = Field(min_length=1, max_length=40, examples=["VAT"])


class TaxRateOut(ApiModel):
    country: str
    rate: Rate = Field(validation_alias="rate_bps")
    name: str
    updated_at: datetime
