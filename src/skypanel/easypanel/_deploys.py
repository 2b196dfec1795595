"""build and deploy settings, GitHub deploy webhooks and deployments."""

from __future__ import annotations

from datetime import UTC, datetime

from skypanel.easypanel._base import ClientBase
from skypanel.easypanel.schemas import AppBuild, ServiceRef, UpdateBuildInput

DEPLOYMENT = "deployment"
"""The `type` of deploy actions in `actions.listActions`."""


def action_time(value: str | float | None) -> datetime | None:
    """An action's `createdAt`/`updatedAt` as an aware UTC datetime, whatever the server sent:
    2.32.2 sends ``YYYY-MM-DD HH:MM:SS`` in UTC (SQLite's format); others ISO 8601 with ``Z`` or
    an offset, or epoch milliseconds. None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class DeploysMixin(ClientBase):
    async def update_app_build(self, project: str, service: str, build: AppBuild | None) -> None:
        """Replace how the app is built from its source (None: Easypanel's default)."""
        body = UpdateBuildInput(project_name=project, service_name=service, build=build)
        await self._send("services.app.updateBuild", body)

    async def enable_github_deploy(self, project: str, service: str) -> None:
        """Let Easypanel deploy a GitHub app on every push (its GitHub webhook, `autoDeploy`)."""
        await self._send("services.app.enableGithubDeploy", _ref(project, service))

    async def disable_github_deploy(self, project: str, service: str) -> None:
        await self._send("services.app.disableGithubDeploy", _ref(project, service))

    async def refresh_deploy_token(self, project: str, service: str) -> None:
        """A new deploy webhook token: the old `deploymentUrl` stops working."""
        await self._send("services.app.refreshDeployToken", _ref(project, service))


def _ref(project: str, service: str) -> ServiceRef:
    return ServiceRef(project_name=project, service_name=service)
