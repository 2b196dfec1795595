from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from skypanel.accounts.auth import AdminUser
from skypanel.domains.service import put_service_domain
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.schema import ApiModel, InputModel
from skypanel.platform import service

router = APIRouter(prefix="/api/admin/settings", tags=["admin"])


class SettingOut(ApiModel):
    key: str
    description: str
    value: Any


class SettingIn(InputModel):
    value: Any


@router.get("", response_model=list[SettingOut], responses=responses(401, 403))
async def list_settings(_: AdminUser, session: Session) -> list[SettingOut]:
    """Every platform setting with its current value (or default)."""
    values = await service.all_settings(session)
    return [
        SettingOut(key=key, description=spec.description, value=values[key])
        for key, spec in service.SETTINGS.items()
    ]


@router.put("/{key}", response_model=SettingOut, responses=responses(401, 403, 404, 422))
async def put_setting(key: str, body: SettingIn, admin: AdminUser, session: Session) -> SettingOut:
    """Change a setting. `service_domain` is also pushed to every Easypanel server, as
    `PUT /api/admin/service-domain` does (a value the servers never hear of would show customers
    addresses that do not answer)."""
    if key == "service_domain":
        value, _ = await put_service_domain(session, body.value, admin.id)
    else:
        value = await service.put_setting(session, key, body.value, admin.id)
    return SettingOut(key=key, description=service.SETTINGS[key].description, value=value)
