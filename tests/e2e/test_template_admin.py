"""Admins add and edit their own templates in the browser; unsafe schemas are refused."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.helpers import make_admin
from tests.serving import Panel

Shot = Callable[..., None]

SCHEMA = {
    "inputs": [{"name": "greeting", "label": "Greeting", "default": "hello"}],
    "services": [
        {
            "name": "web",
            "image": "nginx:1.27",
            "env": {"GREETING": "${greeting}"},
            "domains": [{"port": 80}],
            "resources": {"cpuCores": "0.25", "memoryGb": "0.25", "storageGb": "1"},
        }
    ],
}


def test_an_admin_creates_edits_and_is_refused_an_unsafe_template(
    new_page: Callable[..., Page], panel: Panel, shot: Shot
) -> None:
    admin = new_page()
    make_admin(panel, admin)
    admin.goto("/admin/templates/new")
    admin.get_by_label("Name (permanent)").fill("hello-nginx")
    admin.get_by_label("Display name").fill("Hello nginx")
    admin.get_by_label("Category").fill("Examples")
    admin.get_by_label("Schema (JSON)").fill(json.dumps(SCHEMA, indent=2))
    shot(admin, "admin-template-form")
    admin.get_by_role("button", name="Create template").click()
    expect(admin.locator("#flashes")).to_contain_text("Hello nginx")
    row = admin.locator("tr", has_text="Hello nginx")
    expect(row.get_by_label("Category of Hello nginx")).to_have_value("Examples")

    row.get_by_role("link", name="Edit").click()
    admin.get_by_label("Display name").fill("Hello, nginx")
    admin.get_by_role("button", name="Save template").click()
    expect(admin.locator("tr", has_text="Hello, nginx")).to_have_count(1)

    unsafe = json.loads(json.dumps(SCHEMA))
    unsafe["services"][0]["mounts"] = [
        {"type": "bind", "hostPath": "/var/run/docker.sock", "mountPath": "/var/run/docker.sock"}
    ]
    admin.goto("/admin/templates/new")
    admin.get_by_label("Name (permanent)").fill("escape-hatch")
    admin.get_by_label("Display name").fill("Escape hatch")
    admin.get_by_label("Schema (JSON)").fill(json.dumps(unsafe))
    admin.get_by_role("button", name="Create template").click()
    expect(admin.locator("#flashes")).to_contain_text("Refused for safety")
    admin.goto("/admin/templates")
    expect(admin.locator("tr", has_text="Escape hatch")).to_have_count(0)
