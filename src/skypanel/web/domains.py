"""The service page's "Domains" card (apps: default address, custom domains with their DNS
records, published ports) and "External access" card (databases), loaded into the page by htmx.
Every form posts to the same functions as the JSON API; a form's service is looked up before
its fields are read, so another organization's names are not found whatever was posted."""

from __future__ import annotations

from fastapi import Response

from skypanel.domains import endpoints as api
from skypanel.domains import service as domains
from skypanel.domains.schemas import ExternalAccessIn
from skypanel.services import service as services
from skypanel.services.endpoints import view
from skypanel.services.schemas import DomainIn, PortIn
from skypanel.web.page import CustomerPage
from skypanel.web.routing import page_router

router = page_router("/projects/{project_name}/services/{service_name}")


def _back(page: CustomerPage, project_name: str, service_name: str) -> Response:
    return page.redirect(f"/projects/{project_name}/services/{service_name}")


@router.get("/domains")
async def card(project_name: str, service_name: str, page: CustomerPage) -> Response:
    session, org = page.session, page.org
    project, row = await services.get(session, org, project_name, service_name)
    item = view(project, row, domain=await domains.service_domain(session))
    if row.service_type != "app":
        access = await api.external_access(project_name, service_name, org, session)
        return page.render("services/partials/domains.html", item=item, access=access, loaded=True)
    ports = await api.list_ports(project_name, service_name, org, session)
    found = await api.list_domains(page.request, project_name, service_name, org, session)
    return page.render(
        "services/partials/domains.html",
        item=item,
        domains=found,
        ports=ports,
        loaded=True,
    )


@router.post("/domains/add")
async def add(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await services.get(page.session, page.org, project_name, service_name)
    form = await page.form(DomainIn)
    created = await api.add_domain(project_name, service_name, form, page.org, page.session)
    record = created.verification
    page.flash(
        "success",
        f"{created.host} added. Create the TXT record {record.name} with the value "
        f"{record.value}, then verify it.",
    )
    return _back(page, project_name, service_name)


@router.post("/domains/{domain_id}/verify")
async def verify(
    project_name: str, service_name: str, domain_id: str, page: CustomerPage
) -> Response:
    settings = page.request.app.state.settings
    found = await api.verify_domain(
        project_name, service_name, domain_id, page.org, page.session, settings
    )
    page.flash("success", f"{found.host} is verified; it is being attached with HTTPS.")
    return _back(page, project_name, service_name)


@router.post("/domains/{domain_id}/primary")
async def primary(
    project_name: str, service_name: str, domain_id: str, page: CustomerPage
) -> Response:
    found = await api.set_primary(project_name, service_name, domain_id, page.org, page.session)
    page.flash("success", f"{found.host} is now the primary domain.")
    return _back(page, project_name, service_name)


@router.post("/domains/{domain_id}/delete")
async def remove(
    project_name: str, service_name: str, domain_id: str, page: CustomerPage
) -> Response:
    found = await api.remove_domain(project_name, service_name, domain_id, page.org, page.session)
    page.flash("success", f"{found.host} is being removed.")
    return _back(page, project_name, service_name)


@router.post("/ports/add")
async def publish(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await services.get(page.session, page.org, project_name, service_name)
    form = await page.form(PortIn)
    found = await api.publish_port(project_name, service_name, form, page.org, page.session)
    page.flash("success", f"Port {found.published}/{found.protocol} is being published.")
    return _back(page, project_name, service_name)


@router.post("/ports/{port_id}/delete")
async def unpublish(
    project_name: str, service_name: str, port_id: str, page: CustomerPage
) -> Response:
    found = await api.unpublish_port(project_name, service_name, port_id, page.org, page.session)
    page.flash("success", f"Port {found.published}/{found.protocol} is being removed.")
    return _back(page, project_name, service_name)


@router.post("/external-access/open")
async def open_access(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await services.get(page.session, page.org, project_name, service_name)
    form = await page.form(ExternalAccessIn)
    found = await api.open_external_access(project_name, service_name, form, page.org, page.session)
    page.flash("success", f"{service_name} is being opened on port {found.port}.")
    return _back(page, project_name, service_name)


@router.post("/external-access/close")
async def close_access(project_name: str, service_name: str, page: CustomerPage) -> Response:
    await api.close_external_access(project_name, service_name, page.org, page.session)
    page.flash("success", f"{service_name} is being closed to the outside.")
    return _back(page, project_name, service_name)
