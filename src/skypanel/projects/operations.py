"""Operations on projects beyond creation and deletion (see subscriptions.provisioning)."""

from __future__ import annotations

from typing import Any

from skypanel.models import ContainerProject, EasypanelOperation
from skypanel.operations.service import OperationContext, handler
from skypanel.projects.env import project_env


@handler("easypanel.project.env")
async def update_env(ctx: OperationContext, operation: EasypanelOperation) -> dict[str, Any]:
    """Send the project's current variables (read at delivery, so the latest change wins)."""
    async with ctx.sessions() as session:
        project = await session.get(ContainerProject, operation.subject_id)
    if project is None:
        return {"skipped": True}
    env = project_env(project)
    await ctx.client.update_project_env(project.easypanel_project_name, env)
    return {"keys": sorted(env)}
