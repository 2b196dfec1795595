"""Operations on an app's build and push-deploy settings. Each sends what the service's row
holds when delivered, so the latest request wins."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from skypanel.easypanel.schemas import AppBuild
from skypanel.models import EasypanelOperation
from skypanel.operations.service import Handler, OperationContext
from skypanel.services.operations import failed, service_row

_BUILD: TypeAdapter[AppBuild] = TypeAdapter(AppBuild)


async def update_build(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    build = service.configuration.get("build")
    await ctx.client.update_app_build(
        operation.payload["project"],
        operation.payload["service"],
        None if build is None else _BUILD.validate_python(build),
    )
    return {}


async def auto_deploy(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    service = await service_row(ctx, operation)
    if service is None:
        return {"skipped": True}
    project, name = operation.payload["project"], operation.payload["service"]
    if service.configuration["source"].get("auto_deploy"):
        await ctx.client.enable_github_deploy(project, name)
    else:
        await ctx.client.disable_github_deploy(project, name)
    return {}


HANDLERS: dict[str, Handler] = {
    "easypanel.service.build": Handler(update_build, on_failure=failed),
    "easypanel.service.auto_deploy": Handler(auto_deploy, on_failure=failed),
}
