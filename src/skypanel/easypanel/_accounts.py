"""Users, projects and project access (contract §2.1, §2.2)."""

from __future__ import annotations

from collections.abc import Mapping

from skypanel.easypanel._base import ClientBase, parse, parse_list
from skypanel.easypanel._procedures import swarm_name
from skypanel.easypanel.schemas import (
    CreateUserInput,
    DockerContainer,
    DockerContainersInput,
    IdInput,
    Project,
    ProjectDetail,
    ProjectNameInput,
    ProjectRef,
    ProjectsAndServices,
    UpdateAccessInput,
    UpdateProjectEnvInput,
    UpdateUserInput,
    User,
    format_env,
)


class AccountsMixin(ClientBase):
    async def get_user(self) -> User:
        """The user the token belongs to (`auth.getUser`)."""
        return parse(User, await self._send("auth.getUser"), "auth.getUser")

    async def list_users(self) -> list[User]:
        return parse_list(User, await self._send("users.listUsers"), "users.listUsers")

    async def create_user(self, email: str, password: str, *, admin: bool = False) -> User:
        """Create a panel user; returns it (looked up by email if the answer has no user)."""
        body = CreateUserInput(email=email, password=password, admin=admin)
        result = await self._send("users.createUser", body)
        if isinstance(result, dict) and "id" in result:
            return parse(User, result, "users.createUser")
        for user in await self.list_users():
            if user.email == email:
                return user
        return parse(User, result, "users.createUser")

    async def update_user(self, user_id: str, *, admin: bool, password: str | None = None) -> None:
        """`admin` is required by the server; `password` changes it when given."""
        body = UpdateUserInput(id=user_id, admin=admin, password=password)
        await self._send("users.updateUser", body)

    async def destroy_user(self, user_id: str) -> None:
        await self._send("users.destroyUser", IdInput(id=user_id))

    async def list_projects(self) -> list[Project]:
        payload = await self._send("projects.listProjects")
        return parse_list(Project, payload, "projects.listProjects")

    async def list_projects_and_services(self) -> ProjectsAndServices:
        """Every project and every service (full objects, credentials included)."""
        payload = await self._send("projects.listProjectsAndServices")
        return parse(ProjectsAndServices, payload, "projects.listProjectsAndServices")

    async def inspect_project(self, name: str) -> ProjectDetail:
        payload = await self._send("projects.inspectProject", ProjectRef(project_name=name))
        return parse(ProjectDetail, payload, "projects.inspectProject")

    async def create_project(self, name: str) -> Project:
        """Create a project; an existing name raises EasypanelResourceExists."""
        result = await self._send("projects.createProject", ProjectNameInput(name=name))
        if isinstance(result, dict) and "name" in result:
            return parse(Project, result, "projects.createProject")
        return Project(name=name)

    async def destroy_project(self, name: str) -> None:
        await self._send("projects.destroyProject", ProjectNameInput(name=name))

    async def update_project_env(self, name: str, env: Mapping[str, str]) -> None:
        """Replace the project's shared env; services see it after their next deploy."""
        body = UpdateProjectEnvInput(project_name=name, env=format_env(env))
        await self._send("projects.updateProjectEnv", body)

    async def update_access(self, project: str, user_id: str, *, active: bool) -> None:
        """Grant (`active=True`) or revoke a non-admin user's access to one project."""
        body = UpdateAccessInput(project_name=project, user_id=user_id, active=active)
        await self._send("projects.updateAccess", body)

    async def get_docker_containers(self, project: str, service: str) -> list[DockerContainer]:
        """The containers of one service; empty while its task crash-loops."""
        body = DockerContainersInput(service=swarm_name(project, service))
        payload = await self._send("projects.getDockerContainers", body)
        return parse_list(DockerContainer, payload, "projects.getDockerContainers")
