from __future__ import annotations

from fastapi import APIRouter

from skypanel.accounts.auth import AdminUser
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.servers import repository, service
from skypanel.servers.schemas import ServerIn, ServerOut, TestIn, TestOut

router = APIRouter(prefix="/api/containers/admin/config", tags=["easypanel"])


@router.get("", response_model=ServerOut, responses=responses(401, 403))
async def get_config(_: AdminUser, session: Session) -> ServerOut:
    """The Easypanel connection. The API key is never returned, only its last 4 characters."""
    return service.view(await repository.default_server(session))


@router.post("", response_model=ServerOut, responses=responses(401, 403, 422))
async def save_config(body: ServerIn, admin: AdminUser, session: Session) -> ServerOut:
    """Save the connection after testing it; a failing test saves nothing unless `force`."""
    url = service.normalise_url(str(body.api_url))
    result = await service.probe(url, body.api_key, body.dialect)
    if not result.ok and not body.force:
        raise service.ConnectionFailed(
            f"Connection test failed: {result.error_message or result.error_code}",
            test=service.result_out(result).model_dump(by_alias=True),
        )
    server = await service.save(
        session, admin, url=url, api_key=body.api_key, dialect=body.dialect, result=result
    )
    return service.view(server)


@router.post("/test", response_model=TestOut, responses=responses(401, 403, 404, 422))
async def check_connection(
    admin: AdminUser, session: Session, body: TestIn | None = None
) -> TestOut:
    """Test the given settings, or the saved connection (and remember the outcome)."""
    if body is not None and body.api_url is not None and body.api_key is not None:
        url = service.normalise_url(str(body.api_url))
        return service.result_out(await service.probe(url, body.api_key, body.dialect))
    server = await repository.default_server(session)
    if server is None:
        raise service.NotConfigured("No Easypanel server is configured yet")
    result = await service.probe_saved(server)
    locked = await repository.default_server(session, lock=True)
    if locked is not None and locked.id == server.id:
        service.remember_test(locked, result)
    return service.result_out(result)
