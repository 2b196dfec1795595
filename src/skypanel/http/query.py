"""Query parameters a route does not declare are refused (422 UNKNOWN_PARAMETER, each one named),
as Stripe's API does: a misspelt `?limt=10` must not be silently ignored and answer the default."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from skypanel.kit.errors import InvalidInput

_declared: dict[int, tuple[APIRoute, frozenset[str]]] = {}
"""By route identity; each entry holds its route, so an id is never reused while it is here."""


class UnknownParameter(InvalidInput):
    code = "UNKNOWN_PARAMETER"


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names (aliases included) the route reads."""
    entry = _declared.get(id(route))
    if entry is None or entry[0] is not route:
        entry = _declared[id(route)] = (route, frozenset(_names(route.dependant)))
    return entry[1]


def _names(dependant: Dependant) -> set[str]:
    names = {name for param in dependant.query_params for name in (param.alias, param.name)}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


async def known_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - declared_query(route))
    if unknown:
        raise UnknownParameter(
            "Unknown query parameter: " + ", ".join(repr(name) for name in unknown),
            fields=[
                {"field": f"query.{name}", "message": "is not a parameter of this route"}
                for name in unknown
            ],
        )
