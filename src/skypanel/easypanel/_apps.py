"""App services: lifecycle, sources, and whole-field updates done as read-merge-write (§2.3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from skypanel.easypanel._base import ClientBase, parse
from skypanel.easypanel.schemas import (
    AppService,
    AppSpec,
    DeployInput,
    DeployPatch,
    DeploySettings,
    Maintenance,
    Resources,
    ResourcesPatch,
    ServiceRef,
    UpdateDeployInput,
    UpdateEnvInput,
    UpdateMaintenanceInput,
    UpdateResourcesInput,
    UpdateSourceDockerfileInput,
    UpdateSourceGithubInput,
    UpdateSourceGitInput,
    UpdateSourceImageInput,
    create_input,
    format_env,
)

UNLIMITED = Resources(cpu_limit=0, cpu_reservation=0, memory_limit=0, memory_reservation=0)


def merge_resources(current: Resources | None, change: Resources | ResourcesPatch) -> Resources:
    """A complete resources object: the change over what the service has (0 = unlimited)."""
    if isinstance(change, Resources):
        return change
    base = (current or UNLIMITED).model_dump()
    return Resources.model_validate({**base, **change.model_dump(exclude_unset=True)})


def _merge_deploy(current: DeploySettings | None, change: DeployPatch) -> DeploySettings:
    base = (current or DeploySettings()).model_dump()
    return DeploySettings.model_validate({**base, **change.model_dump(exclude_unset=True)})


class AppsMixin(ClientBase):
    async def create_app(self, project: str, spec: AppSpec) -> AppService:
        """Create an app. With an inline `source` the server deploys it before answering."""
        result = await self._send("services.app.createService", create_input(project, spec))
        if isinstance(result, dict) and "name" in result:
            return parse(AppService, result, "services.app.createService")
        return await self.inspect_app(project, spec.service_name)

    async def inspect_app(self, project: str, service: str) -> AppService:
        payload = await self._app("inspectService", project, service)
        return parse(AppService, payload, "services.app.inspectService")

    async def deploy_app(self, project: str, service: str, *, force_rebuild: bool = False) -> None:
        """Start a deploy; it may block for the whole build. Poll `list_actions` for the result."""
        body = DeployInput(project_name=project, service_name=service, force_rebuild=force_rebuild)
        await self._send("services.app.deployService", body)

    async def start_app(self, project: str, service: str) -> None:
        await self._app("startService", project, service)

    async def stop_app(self, project: str, service: str) -> None:
        """Scale to zero: the task stats then show desired 0."""
        await self._app("stopService", project, service)

    async def restart_app(self, project: str, service: str) -> None:
        await self._app("restartService", project, service)

    async def destroy_app(self, project: str, service: str) -> None:
        await self._app("destroyService", project, service)

    async def update_app_source_image(
        self,
        project: str,
        service: str,
        image: str,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        body = UpdateSourceImageInput(
            project_name=project,
            service_name=service,
            image=image,
            username=username,
            password=password,
        )
        await self._send("services.app.updateSourceImage", body)

    async def update_app_source_github(
        self, project: str, service: str, *, owner: str, repo: str, ref: str, path: str = "/"
    ) -> None:
        """Point the app at a GitHub repository; the server turns auto-deploy off."""
        body = UpdateSourceGithubInput(
            project_name=project, service_name=service, owner=owner, repo=repo, ref=ref, path=path
        )
        await self._send("services.app.updateSourceGithub", body)

    async def update_app_source_git(
        self, project: str, service: str, *, repo: str, ref: str, path: str = "/"
    ) -> None:
        body = UpdateSourceGitInput(
            project_name=project, service_name=service, repo=repo, ref=ref, path=path
        )
        await self._send("services.app.updateSourceGit", body)

    async def update_app_source_dockerfile(
        self, project: str, service: str, dockerfile: str
    ) -> None:
        """Build from inline Dockerfile content."""
        body = UpdateSourceDockerfileInput(
            project_name=project, service_name=service, dockerfile=dockerfile
        )
        await self._send("services.app.updateSourceDockerfile", body)

    async def update_app_env(self, project: str, service: str, env: Mapping[str, str]) -> None:
        """Replace the app's env with exactly these variables."""
        await self.patch_app_env(project, service, values=env, replace=True)

    async def patch_app_env(
        self,
        project: str,
        service: str,
        *,
        values: Mapping[str, str] | None = None,
        remove: Iterable[str] = (),
        replace: bool = False,
    ) -> dict[str, str]:
        """Change some variables and keep the others; returns the env now on the server.

        `updateEnv` replaces the whole env (and resets the .env-file option when omitted), so this
        reads the service first and sends the complete result.
        """
        current = await self.inspect_app(project, service)
        variables = {} if replace else current.env_vars
        variables.update(values or {})
        for key in remove:
            variables.pop(key, None)
        body = UpdateEnvInput(
            project_name=project,
            service_name=service,
            env=format_env(variables),
            create_dot_env=current.create_dot_env,
            dot_env_path=current.dot_env_path or None,
        )
        await self._send("services.app.updateEnv", body)
        return variables

    async def update_app_resources(
        self, project: str, service: str, resources: Resources | ResourcesPatch
    ) -> Resources:
        """Set limits; a patch is merged with the current values. Returns what was sent."""
        current = (
            None if isinstance(resources, Resources) else await self.inspect_app(project, service)
        )
        merged = merge_resources(current.resources if current else None, resources)
        body = UpdateResourcesInput(project_name=project, service_name=service, resources=merged)
        await self._send("services.app.updateResources", body)
        return merged

    async def update_app_deploy(
        self, project: str, service: str, deploy: DeploySettings | DeployPatch
    ) -> DeploySettings:
        """Replicas, command, zero-downtime...; a patch is merged with the current settings."""
        if isinstance(deploy, DeployPatch):
            deploy = _merge_deploy((await self.inspect_app(project, service)).deploy, deploy)
        body = UpdateDeployInput(project_name=project, service_name=service, deploy=deploy)
        await self._send("services.app.updateDeploy", body)
        return deploy

    async def update_app_maintenance(
        self, project: str, service: str, maintenance: Maintenance
    ) -> None:
        body = UpdateMaintenanceInput(
            project_name=project, service_name=service, maintenance=maintenance
        )
        await self._send("services.app.updateMaintenance", body)

    async def _app(self, verb: str, project: str, service: str) -> Any:
        body = ServiceRef(project_name=project, service_name=service)
        return await self._send(f"services.app.{verb}", body)
