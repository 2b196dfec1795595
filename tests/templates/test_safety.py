from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from skypanel.easypanel.schemas import (
    AppSpec,
    BindMount,
    ComposeSpec,
    DeploySettings,
    InlineComposeSource,
    VolumeMount,
)
from skypanel.templates.safety import (
    UnsafeDeployment,
    check_app,
    check_mounts,
    check_spec,
    check_template,
    scan,
    service_violations,
)

APP = {"name": "web", "image": "nginx:1.27", "domains": [{"port": 80}]}


def refused(call: Any, *args: Any, **kwargs: Any) -> list[dict[str, str]]:
    with pytest.raises(UnsafeDeployment) as caught:
        call(*args, **kwargs)
    assert (caught.value.status, caught.value.code) == (422, "UNSAFE_DEPLOYMENT")
    violations: list[dict[str, str]] = caught.value.details["violations"]
    return violations


@pytest.mark.parametrize(
    ("extra", "violation"),
    [
        (
            {"mounts": [{"type": "bind", "hostPath": "/etc", "mountPath": "/host-etc"}]},
            {"service": "web", "where": "mounts.0", "reason": "a bind mount of the host path /etc"},
        ),
        (
            {"mounts": [{"name": "sock", "mountPath": "/var/run/docker.sock"}]},
            {"service": "web", "where": "mounts.0.mountPath", "reason": "the Docker socket"},
        ),
        (
            {"env": {"DOCKER_HOST": "unix:///var/run/docker.sock"}},
            {"service": "web", "where": "env.DOCKER_HOST", "reason": "the Docker socket"},
        ),
        (
            {"privileged": True},
            {"service": "web", "where": "privileged", "reason": "privileged mode"},
        ),
        (
            {"networkMode": "host"},
            {"service": "web", "where": "networkMode", "reason": "host networking"},
        ),
        (
            {"deploy": {"capAdd": ["NET_BIND_SERVICE", "SYS_ADMIN"]}},
            {"service": "web", "where": "deploy.capAdd", "reason": "the capabilities SYS_ADMIN"},
        ),
    ],
)
def test_unsafe_templates_are_refused_with_the_reason(
    extra: dict[str, Any], violation: dict[str, str]
) -> None:
    schema = {"services": [{**APP, **extra}]}
    assert refused(check_template, schema) == [violation]


def test_a_safe_template_passes_and_env_keys_are_not_read_as_settings() -> None:
    check_template({"services": [{**APP, "env": {"NETWORK": "host", "PRIVILEGED": "1"}}]})


def test_every_violation_is_listed() -> None:
    schema = {
        "services": [
            {**APP, "privileged": True},
            {"name": "db", "type": "postgres", "pid": "host"},
        ]
    }
    assert refused(check_template, schema) == [
        {"service": "web", "where": "privileged", "reason": "privileged mode"},
        {"service": "db", "where": "pid", "reason": "the host's PID namespace"},
    ]


def test_easypanel_specs_are_checked() -> None:
    check_spec(AppSpec(service_name="ok", mounts=[VolumeMount(name="data", mount_path="/data")]))
    bind = AppSpec(service_name="web", mounts=[BindMount(host_path="/", mount_path="/host")])
    assert refused(check_spec, bind) == [
        {"service": "web", "where": "mounts.0", "reason": "a bind mount of the host path /"}
    ]
    caps = AppSpec(service_name="web", deploy=DeploySettings(cap_add=["ALL"]))
    assert [v["reason"] for v in refused(check_spec, caps)] == ["the capabilities ALL"]


def test_inline_compose_files_are_read() -> None:
    content = (
        "services:\n  app:\n    image: nginx\n    privileged: true\n"
        "    network_mode: host\n    volumes:\n      - /srv/data:/data\n"
    )
    spec = ComposeSpec(service_name="stack", source=InlineComposeSource(content=content))
    assert [v["reason"] for v in refused(check_spec, spec)] == [
        "privileged mode in the compose file",
        "host networking in the compose file",
        "a bind mount of a host path in the compose file",
    ]


def test_app_deployment_requests_are_checked() -> None:
    check_app("web", mounts=[{"type": "volume", "name": "d", "mountPath": "/d"}], env={"A": "b"})
    assert refused(check_mounts, "web", [{"type": "bind", "name": "x", "mountPath": "/x"}]) == [
        {"service": "web", "where": "mounts.0", "reason": "a bind mount of the host path ?"}
    ]
    assert refused(check_app, "web", deploy={"command": "cat /var/run/docker.sock"}) == [
        {"service": "web", "where": "deploy.command", "reason": "the Docker socket"}
    ]


def test_scan_reads_service_objects_from_easypanel() -> None:
    imported = {
        "type": "app",
        "name": "sneaky",
        "mounts": [{"type": "bind", "hostPath": "/var/run/docker.sock", "mountPath": "/s"}],
    }
    assert [(v.where, v.reason) for v in scan("sneaky", imported)] == [
        ("mounts.0", "a bind mount of the host path /var/run/docker.sock"),
        ("mounts.0.hostPath", "the Docker socket"),
    ]


def test_services_as_easypanel_reports_them_are_judged_by_one_rule() -> None:
    reported: dict[str, Any] = {
        "type": "app",
        "projectName": "acme",
        "name": "web",
        "env": "MODE=prod\nHOST=example.com",
        "source": {"type": "image", "image": "nginx:1.27"},
        "deploy": {"replicas": 1, "zeroDowntime": True, "capAdd": ["SYS_ADMIN"]},
        "mounts": [{"type": "bind", "hostPath": "/", "mountPath": "/host"}],
        "domains": [{"host": "web.example.com", "destinationType": "service"}],
    }
    reported["deploy"] |= {"privileged": True, "networkMode": "host"}
    assert [(v.service, v.where, v.reason) for v in service_violations(reported)] == [
        ("web", "deploy.capAdd", "the capabilities SYS_ADMIN"),
        ("web", "deploy.privileged", "privileged mode"),
        ("web", "deploy.networkMode", "host networking"),
        ("web", "mounts.0", "a bind mount of the host path /"),
    ]
    clean = {**reported, "deploy": {"replicas": 1}, "mounts": []}
    assert service_violations(clean) == []


def test_app_deployments_use_the_same_rule_as_reported_services() -> None:
    mounts = [{"type": "bind", "hostPath": "/srv", "mountPath": "/srv"}]
    reported = {"name": "web", "mounts": mounts, "deploy": {"capAdd": ["SYS_ADMIN"]}}
    violations = [
        {"service": "web", "where": "mounts.0", "reason": "a bind mount of the host path /srv"},
        {"service": "web", "where": "deploy.capAdd", "reason": "the capabilities SYS_ADMIN"},
    ]
    assert [asdict(v) for v in service_violations(reported)] == violations
    deploy = DeploySettings(cap_add=["SYS_ADMIN"])  # a model, as the deploy form sends it
    assert refused(check_app, "web", mounts=mounts, deploy=deploy) == violations
