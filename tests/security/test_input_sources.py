"""What SkyPanel hands to Easypanel, git and Traefik is checked with their own rules first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.support import Account, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"
NGINX = {"type": "image", "image": "nginx:1.27"}


def fields_of(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["details"]["fields"]]


async def deploy(
    client: httpx.AsyncClient, account: Account, kind: str = "app", **body: Any
) -> httpx.Response:
    return await client.post(f"{SERVICES}/{kind}", headers=account.headers, json=body)


@pytest.fixture
async def customer(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    server: EasypanelServer,
    alice: Account,
) -> Account:
    await subscribed(client, db, alice)
    return alice


GITHUB = {"type": "github", "owner": "acme", "repo": "site"}
GIT = {"type": "git", "url": "https://git.example.com/acme/site.git"}


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({**GITHUB, "ref": "--upload-pack=touch /tmp/x"}, "source.github.ref"),
        ({**GITHUB, "ref": "main..dev"}, "source.github.ref"),
        ({**GITHUB, "ref": "feature/x.lock"}, "source.github.ref"),
        ({**GITHUB, "ref": "a b"}, "source.github.ref"),
        ({**GITHUB, "ref": "a@{1}"}, "source.github.ref"),
        ({**GITHUB, "ref": "a//b"}, "source.github.ref"),
        ({**GITHUB, "ref": "main/"}, "source.github.ref"),
        ({**GITHUB, "path": "/../../etc"}, "source.github.path"),
        ({**GITHUB, "path": "/-x"}, "source.github.path"),
        ({**GITHUB, "owner": "-acme"}, "source.github.owner"),
        ({**GITHUB, "owner": "ac/me"}, "source.github.owner"),
        ({**GITHUB, "repo": ".."}, "source.github.repo"),
        ({**GIT, "ref": "-x"}, "source.git.ref"),
        ({**GIT, "path": "/app/../.."}, "source.git.path"),
        ({"type": "image", "image": "NGINX"}, "source.image.image"),
        ({"type": "image", "image": "nginx:latest;rm"}, "source.image.image"),
        ({"type": "image", "image": "-nginx"}, "source.image.image"),
        ({"type": "image", "image": "nginx@sha256:abc"}, "source.image.image"),
    ],
)
async def test_unsafe_sources_are_refused(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    customer: Account,
    source: dict[str, str],
    field: str,
) -> None:
    response = await deploy(client, customer, serviceName="site", source=source)
    assert response.status_code == 422, response.text
    assert fields_of(response) == [field]
    assert await count(db, "container_services") == 0


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "library/nginx:1.27-alpine",
        "registry.example.com:5000/acme/app:v1.2",
        "ghcr.io/acme/app@sha256:" + "a" * 64,
        "localhost/app_x__y:1",
    ],
)
async def test_valid_image_references_pass(
    client: httpx.AsyncClient, customer: Account, image: str
) -> None:
    response = await deploy(
        client, customer, serviceName="site", source={"type": "image", "image": image}
    )
    assert response.status_code == 202, response.text


async def test_valid_git_sources_pass(client: httpx.AsyncClient, customer: Account) -> None:
    source = {**GITHUB, "owner": "a-b1", "repo": "site.js", "ref": "release/v1.2", "path": "/web"}
    response = await deploy(client, customer, serviceName="site", source=source)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "path", ["/`) || Host(`evil.com", "/a(b)", "/a b", "/a'b", '/a"b', "a", "/a\\b"]
)
async def test_domain_paths_must_be_url_paths(
    client: httpx.AsyncClient, customer: Account, path: str
) -> None:
    domain = {"host": "shop.example.com", "path": path}
    response = await deploy(client, customer, serviceName="web", source=NGINX, domains=[domain])
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["domains.0.path"]


async def test_a_plain_domain_path_passes(client: httpx.AsyncClient, customer: Account) -> None:
    domain = {"host": "shop.example.com", "path": "/api/v1_%7Euser"}
    response = await deploy(client, customer, serviceName="web", source=NGINX, domains=[domain])
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "value", ["a\rb", "a\nb", "a\u2028b", "a\u2029b", "a\u0085b", "a\vb", "a\fb"]
)
async def test_env_values_stay_on_one_line(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    customer: Account,
    value: str,
) -> None:
    response = await deploy(client, customer, serviceName="web", source=NGINX, env={"A": value})
    assert response.status_code == 422, response.text
    assert await count(db, "container_services") == 0


async def test_env_updates_are_checked_too(
    client: httpx.AsyncClient, easypanel: RunningEmulator, customer: Account
) -> None:
    assert (await deploy(client, customer, serviceName="web", source=NGINX)).status_code == 202
    for env in ({"A": "x\u2028INJECTED=1"}, {"1A": "x"}, {"A-B": "x"}):
        response = await client.put(
            f"{SERVICES}/web/env", headers=customer.headers, json={"env": env}
        )
        assert response.status_code == 422, (env, response.text)
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert "INJECTED" not in str(app.get("env"))


@pytest.mark.parametrize(("name", "kind"), [("0db", "postgres"), ("1-data", "mysql")])
async def test_database_names_must_suit_the_engine(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    customer: Account,
    name: str,
    kind: str,
) -> None:
    response = await deploy(client, customer, "database", serviceName=name, type=kind)
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["serviceName"]
    assert "start with a letter" in response.json()["error"]["details"]["fields"][0]["message"]
    assert await count(db, "container_services") == 0


async def test_a_bind_mount_is_refused_in_words(
    client: httpx.AsyncClient, customer: Account
) -> None:
    for mount in (
        {"name": "/var/run/docker.sock", "mountPath": "/var/run/docker.sock"},
        {"hostPath": "/etc", "name": "etc", "mountPath": "/etc"},
    ):
        response = await deploy(client, customer, serviceName="web", source=NGINX, mounts=[mount])
        assert response.status_code == 422, response.text
        messages = [f["message"] for f in response.json()["error"]["details"]["fields"]]
        assert messages == ["Bind mounts are not allowed; use a named volume"]
