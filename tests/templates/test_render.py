from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from skypanel.easypanel.schemas import TemplateApp, TemplateMariadb, parse_env
from skypanel.kit.errors import AppError
from skypanel.templates.catalog import BUILTIN
from skypanel.templates.inputs import TemplateInputInvalid
from skypanel.templates.render import TemplateSchemaInvalid, render_template
from skypanel.templates.safety import UnsafeDeployment, check_spec

WORDPRESS = next(e for e in BUILTIN if e.template_name == "wordpress").template_schema

FORM: dict[str, Any] = {
    "inputs": [
        {"name": "siteName", "label": "Site", "required": True, "pattern": "^[a-z]{3,10}$"},
        {"name": "workers", "label": "Workers", "type": "number", "default": 2},
        {"name": "debug", "label": "Debug", "type": "boolean", "default": False},
        {"name": "tier", "label": "Tier", "type": "select", "options": ["small", "large"]},
        {"name": "apiKey", "label": "API key", "secret": True, "generate": {"kind": "hex"}},
    ],
    "services": [
        {
            "name": "web",
            "image": "example/web:1.0",
            "env": {
                "SITE": "${siteName}",
                "WORKERS": "${workers}",
                "DEBUG": "${debug}",
                "TIER": "${tier}",
                "API_KEY": "${apiKey}",
            },
        }
    ],
}


def fields_of(error: AppError) -> list[str]:
    return [f["field"] for f in error.details["fields"]]


def render(schema: dict[str, Any], inputs: dict[str, Any], prefix: str = "app") -> Any:
    return render_template(schema, inputs, project_name="acme-web", service_prefix=prefix)


@pytest.mark.parametrize("entry", BUILTIN, ids=[e.template_name for e in BUILTIN])
def test_every_builtin_renders_with_defaults_and_is_safe(entry: Any) -> None:
    rendered = render(entry.template_schema, {}, prefix=entry.template_name)
    assert [s.name for s in rendered.services] == [
        f"{entry.template_name}-{s['name']}"
        for s in sorted(entry.template_schema["services"], key=lambda s: "version" not in s)
    ]
    for service in rendered.services:
        check_spec(service.spec.data)
        assert service.cpu_cores > 0
        assert service.memory_gb > 0
        assert service.storage_gb > 0
        for value in service.env.values():
            assert "${" not in value


def test_wordpress_wires_the_app_to_its_database() -> None:
    rendered = render(WORDPRESS, {"tablePrefix": "blog_"}, prefix="Blog!")
    db, app = rendered.specs
    assert isinstance(db, TemplateMariadb)
    assert isinstance(app, TemplateApp)
    assert (db.data.service_name, db.data.image) == ("blog-db", "mariadb:11.4")
    assert (db.data.database_name, db.data.user) == ("wordpress", "wordpress")
    assert db.data.password is not None
    assert len(db.data.password) == 24
    assert parse_env(app.data.env) == {
        "WORDPRESS_DB_HOST": "acme-web_blog-db:3306",
        "WORDPRESS_DB_NAME": "wordpress",
        "WORDPRESS_DB_USER": "wordpress",
        "WORDPRESS_DB_PASSWORD": db.data.password,
        "WORDPRESS_TABLE_PREFIX": "blog_",
    }
    assert app.data.resources is not None
    assert (app.data.resources.cpu_limit, app.data.resources.memory_limit) == (1.0, 1024.0)
    assert [(d.host, d.port) for d in app.data.domains or []] == [("$(EASYPANEL_DOMAIN)", 80)]
    assert [m.model_dump() for m in app.data.mounts or []] == [
        {"type": "volume", "name": "html", "mountPath": "/var/www/html"}
    ]
    wordpress = rendered.services[1]
    assert (wordpress.cpu_cores, wordpress.memory_gb, wordpress.storage_gb) == (
        Decimal("1"),
        Decimal("1"),
        Decimal("10"),
    )
    assert wordpress.secret_keys == frozenset({"WORDPRESS_DB_PASSWORD"})
    assert rendered.secrets == {
        "services.db.password": db.data.password,
        "services.db.rootPassword": db.data.root_password,
    }
    assert rendered.services[0].credentials["password"] == db.data.password


def test_inputs_are_typed_defaulted_and_generated() -> None:
    rendered = render(FORM, {"siteName": "shop", "workers": "4.50", "debug": True, "tier": "large"})
    env = rendered.services[0].env
    assert {k: env[k] for k in ("SITE", "WORKERS", "DEBUG", "TIER")} == {
        "SITE": "shop",
        "WORKERS": "4.5",
        "DEBUG": "true",
        "TIER": "large",
    }
    assert len(env["API_KEY"]) == 24
    assert int(env["API_KEY"], 16) >= 0
    assert rendered.secrets == {"inputs.apiKey": env["API_KEY"]}
    assert rendered.services[0].secret_keys == frozenset({"API_KEY"})


def test_an_optional_input_left_empty_drops_its_variable() -> None:
    rendered = render(FORM, {"siteName": "shop"})
    assert "TIER" not in rendered.services[0].env


def test_bad_inputs_name_each_field() -> None:
    with pytest.raises(TemplateInputInvalid) as caught:
        render(
            FORM,
            {"siteName": "NO", "workers": "many", "debug": "maybe", "tier": "huge", "extra": 1},
        )
    assert caught.value.status == 422
    assert caught.value.code == "TEMPLATE_INPUT_INVALID"
    assert fields_of(caught.value) == [
        "inputs.extra",
        "inputs.siteName",
        "inputs.workers",
        "inputs.debug",
        "inputs.tier",
    ]
    messages = [f["message"] for f in caught.value.details["fields"]]
    assert messages == [
        "Unknown input",
        "Must match ^[a-z]{3,10}$",
        "Must be a number",
        "Must be true or false",
        "Must be one of: small, large",
    ]


def test_a_missing_required_input_and_a_multiline_value_are_refused() -> None:
    with pytest.raises(TemplateInputInvalid) as caught:
        render(FORM, {"apiKey": "abc\nEVIL=1"})
    assert fields_of(caught.value) == ["inputs.siteName", "inputs.apiKey"]
    assert caught.value.details["fields"][0]["message"] == "Required"


def test_a_prefix_too_long_for_the_project_is_refused() -> None:
    with pytest.raises(TemplateInputInvalid) as caught:
        render(WORDPRESS, {}, prefix="x" * 60)
    assert fields_of(caught.value) == ["servicePrefix"]


def test_an_invalid_schema_names_the_fields() -> None:
    schema = copy.deepcopy(FORM)
    schema["services"][0]["env"]["BROKEN"] = "${nowhere}"
    schema["services"].append({"name": "db", "type": "oracle", "version": "19"})
    with pytest.raises(TemplateSchemaInvalid) as caught:
        render(schema, {"siteName": "shop"})
    assert caught.value.code == "TEMPLATE_SCHEMA_INVALID"
    assert fields_of(caught.value) == ["templateSchema.services.1.database.type"]
    schema["services"].pop()
    with pytest.raises(TemplateSchemaInvalid) as unknown:
        render(schema, {"siteName": "shop"})
    assert unknown.value.details["fields"] == [
        {"field": "templateSchema", "message": "web refers to unknown values: nowhere"}
    ]


def test_an_input_that_smuggles_the_docker_socket_is_refused_after_rendering() -> None:
    with pytest.raises(UnsafeDeployment) as caught:
        render(FORM, {"siteName": "shop", "apiKey": "unix:///var/run/docker.sock"})
    assert caught.value.details["violations"] == [
        {"service": "app-web", "where": "env", "reason": "the Docker socket"}
    ]
