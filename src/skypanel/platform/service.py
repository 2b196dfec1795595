from __future__ import annotations

import uuid
from string import Formatter
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.activity.service import record
from skypanel.kit import clock, uow
from skypanel.kit.cache import Cache
from skypanel.kit.errors import InvalidInput, NotFound
from skypanel.kit.money import MoneyIn, format_money
from skypanel.models import PlatformSetting

_CACHED = "platform:setting:v2:"
"""Entries are `{"value": ...}` (v2): a process of the previous release, which kept bare values
under `platform:setting:`, never reads one during a rolling upgrade, nor this one its."""


class Branding(BaseModel):
    name: str = Field(default="SkyPanel", min_length=1, max_length=60)
    logo_url: str | None = Field(default=None, alias="logoUrl", max_length=500)
    accent_color: str = Field(default="#2563eb", alias="accentColor", pattern=r"^#[0-9a-fA-F]{6}$")

    model_config = {"populate_by_name": True}

    @field_validator("logo_url")
    @classmethod
    def _https_image(cls, value: str | None) -> str | None:
        """Shown as an `<img src>` on every page: an `https:` address with a host, or nothing."""
        if not value:
            return None
        parts = urlsplit(value)
        printable = value.isprintable() and not any(c.isspace() for c in value)
        if parts.scheme.lower() != "https" or not parts.hostname or not printable:
            raise PydanticCustomError("https_url", "The logo must be an https:// image URL")
        return value


class PortRange(BaseModel):
    """The host ports customers may publish (Easypanel's own 80, 443 and 3000 stay outside)."""

    start: int = Field(default=30000, ge=1024, le=65535)
    end: int = Field(default=32767, ge=1024, le=65535)

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.start > self.end:
            raise ValueError("start must not be above end")
        return self


StoredMoney = Annotated[MoneyIn, PlainSerializer(format_money, return_type=str)]
"""Cents in Python, kept as a decimal string (read back as the same amount)."""


class TopUpLimits(BaseModel):
    """The smallest and largest top-up a customer may pay in one go, in the platform currency."""

    minimum: StoredMoney = 500
    maximum: StoredMoney = 500_000

    @model_validator(mode="after")
    def _ordered(self) -> TopUpLimits:
        if not 0 < self.minimum <= self.maximum:
            raise ValueError("the minimum must be above zero and not above the maximum")
        return self


ReservedSuffix = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=253)
]


class Seller(BaseModel):
    """The platform's own details, printed on every invoice, credit note and receipt (each
    document keeps a copy, so a change applies to documents issued afterwards only)."""

    legal_name: str = Field(default="SkyPanel", alias="legalName", min_length=1, max_length=200)
    address: str = Field(default="", max_length=500, description="Postal address, one line each")
    country: str = Field(default="DE", pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2")
    tax_id: str | None = Field(default=None, alias="taxId", max_length=40)
    logo_url: str | None = Field(default=None, alias="logoUrl", max_length=500)

    model_config = {"populate_by_name": True}

    @field_validator("logo_url")
    @classmethod
    def _https_logo(cls, value: str | None) -> str | None:
        """The same rule as the panel's logo (`Branding`): an https image URL, or nothing."""
        try:
            return Branding.model_validate({"logoUrl": value}).logo_url
        except ValidationError as exc:
            raise PydanticCustomError(
                "https_url", "The logo must be an https:// image URL"
            ) from exc


_NUMBER_FIELDS = {"year", "number"}


def _number_format(value: str) -> str:
    """A document number pattern such as `INV-{year}-{number:06d}`: both fields, nothing else
    (the counter restarts every year, so a pattern without the year would repeat numbers)."""
    try:
        fields = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        value.format(year=2027, number=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"is not a valid number pattern ({exc})") from exc
    if fields != _NUMBER_FIELDS:
        raise ValueError(
            "must hold {year} and {number} (like INV-{year}-{number:06d}) and no other field"
        )
    return value


NumberFormat = Annotated[
    str, StringConstraints(min_length=1, max_length=30), AfterValidator(_number_format)
]


class DocumentNumbers(BaseModel):
    """How each kind of billing document is numbered; numbers run per kind and year."""

    invoice: NumberFormat = "INV-{year}-{number:06d}"
    credit_note: NumberFormat = Field(default="CN-{year}-{number:06d}", alias="creditNote")
    receipt: NumberFormat = "RCT-{year}-{number:06d}"

    model_config = {"populate_by_name": True}


class SettingSpec(BaseModel):
    key: str
    description: str
    default: Any
    adapter: Any


def _spec(key: str, description: str, kind: Any, default: Any) -> SettingSpec:
    return SettingSpec(key=key, description=description, default=default, adapter=TypeAdapter(kind))


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        _spec(
            "customer_easypanel_logins",
            "Give each subscribed organization its own Easypanel login with access to its"
            " projects. Off by default: with it a customer changes their services directly on"
            " Easypanel (mounts and privileged mode included), which drift reconciliation only"
            " bounds by stopping unsafe services every five minutes",
            bool,
            False,
        ),
        _spec(
            "reserved_domain_suffixes",
            "Domains no customer may attach to a service, with everything under them"
            " (the panel's own host and each Easypanel server's host are always reserved)",
            list[ReservedSuffix],
            [],
        ),
        _spec(
            "service_domain",
            "The domain apps get their default address under, <project>-<service>.<domain>"
            " (point *.<domain> at every Easypanel server); empty: Easypanel's own",
            Annotated[
                str,
                StringConstraints(
                    to_lower=True, max_length=253, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$"
                ),
            ]
            | None,
            None,
        ),
        _spec(
            "published_port_range",
            "Host ports customers may publish, each held by one service per server",
            PortRange,
            PortRange().model_dump(),
        ),
        _spec("billing_grace_days", "Days an unpaid subscription runs before suspension", int, 3),
        _spec(
            "renewal_reminder_days",
            "Days before a renewal that its reminder (and the low-balance forecast) is sent",
            int,
            3,
        ),
        _spec(
            "termination_after_days",
            "Days a subscription stays suspended before it is terminated and its services deleted",
            int,
            14,
        ),
        _spec(
            "backup_retention_after_termination_days",
            "Days the backups of a terminated subscription are kept before they are deleted",
            int,
            30,
        ),
        _spec(
            "termination_warning_days",
            "Days before a termination that its warning is sent",
            int,
            3,
        ),
        _spec(
            "top_up_limits",
            "The smallest and largest wallet top-up a customer may pay at once",
            TopUpLimits,
            {"minimum": "5.00", "maximum": "5000.00"},
        ),
        _spec(
            "branding",
            "Name, logo URL and accent colour shown in the panel",
            Branding,
            Branding().model_dump(by_alias=True),
        ),
        _spec(
            "seller",
            "The platform's legal name, address, country, tax id and logo on billing documents",
            Seller,
            Seller().model_dump(by_alias=True),
        ),
        _spec(
            "document_numbers",
            "Number patterns of invoices, credit notes and receipts, like INV-{year}-{number:06d}",
            DocumentNumbers,
            DocumentNumbers().model_dump(by_alias=True),
        ),
        _spec(
            "prices_include_tax",
            "Prices are gross (tax included, taken out of them on invoices) rather than net",
            bool,
            False,
        ),
    )
}


class UnknownSetting(NotFound):
    code = "SETTING_NOT_FOUND"


def _validated(spec: SettingSpec, value: Any) -> Any:
    try:
        parsed = spec.adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(
            f"Invalid value for {spec.key}", field="value", errors=exc.errors(include_url=False)
        ) from exc
    return spec.adapter.dump_python(parsed, mode="json", by_alias=True)


async def all_settings(session: AsyncSession) -> dict[str, Any]:
    stored = {row.key: row.value for row in await session.scalars(select(PlatformSetting))}
    return {key: stored.get(key, spec.default) for key, spec in SETTINGS.items()}


async def get_setting(session: AsyncSession, key: str) -> Any:
    spec = SETTINGS.get(key)
    if spec is None:
        raise UnknownSetting(f"Unknown setting {key}")
    row = await session.get(PlatformSetting, key)
    return spec.default if row is None else row.value


async def cached_setting(cache: Cache, session: AsyncSession, key: str) -> Any:
    """A setting read on every page (branding), kept a minute and dropped after every change.
    Kept wrapped, so that a setting whose value is None (no service domain) is kept too rather
    than read from the database on every view."""
    found = await cache.get(f"{_CACHED}{key}")
    if not isinstance(found, dict) or "value" not in found:
        found = {"value": await get_setting(session, key)}
        await cache.set(f"{_CACHED}{key}", found, 60.0)
    return found["value"]


async def put_setting(session: AsyncSession, key: str, value: Any, actor: uuid.UUID) -> Any:
    spec = SETTINGS.get(key)
    if spec is None:
        raise UnknownSetting(f"Unknown setting {key}")
    clean = _validated(spec, value)
    await session.execute(
        insert(PlatformSetting)
        .values(key=key, value=clean, updated_by=actor, updated_at=clock.now())
        .on_conflict_do_update(
            index_elements=[PlatformSetting.key],
            set_={"value": clean, "updated_by": actor, "updated_at": clock.now()},
        )
    )
    uow.stale_cache(session, _CACHED)
    await record(
        session,
        "platform.setting.update",
        f"Setting {key} changed",
        user_id=actor,
        entity_type="setting",
        metadata={"key": key, "value": clean},
    )
    return clean
