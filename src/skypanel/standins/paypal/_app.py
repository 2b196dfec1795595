"""The stand-in's HTTP face: Starlette routes for OAuth, Orders v2, Payments v2 and
notifications (each REST route behind a bearer token), the certificate, the buyer's approval
pages, and PayPal's error shape for every refusal."""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from skypanel.standins.paypal._model import Json, PayPalError, _invalid, _now
from skypanel.standins.paypal._state import PayPalStandin

Endpoint = Callable[[Request], Awaitable[Response]]

TOKEN_LIFETIME = 32_400
"""Seconds an access token lives (PayPal's sandbox hands out about nine hours)."""


async def _json_body(request: Request) -> Json:
    try:
        body = await request.json()
    except ValueError:
        _invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
    if not isinstance(body, dict):
        _invalid("MALFORMED_REQUEST_JSON", "The request body must be a JSON object.")
    return body


def _reply(status_and_body: tuple[int, Json]) -> JSONResponse:
    status, body = status_and_body
    return JSONResponse(body, status_code=status)


def create_paypal_app(standin: PayPalStandin) -> Starlette:
    """The stand-in's routes over one `PayPalStandin`."""

    def bearer(endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not standin.knows_token(token):
                raise PayPalError(
                    401, "INVALID_TOKEN", "The access token is missing, invalid or expired."
                )
            return await endpoint(request)

        return guarded

    async def token(request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or not (
            secrets.compare_digest(client_id.encode(), standin.client_id.encode())
            and secrets.compare_digest(secret.encode(), standin.client_secret.encode())
        ):
            # The OAuth endpoint answers in OAuth's error shape, not the REST one.
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status_code=401,
            )
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Grant Type is NULL or not supported",
                },
                status_code=400,
            )
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments/payment/authcapture"
                " https://uri.paypal.com/services/payments/refund"
                " https://uri.paypal.com/services/applications/webhooks",
                "access_token": standin.issue_token(),
                "token_type": "Bearer",
                "app_id": "APP-STANDIN0000000",
                "expires_in": TOKEN_LIFETIME,
                "nonce": f"{_now()}{secrets.token_urlsafe(24)}",
            }
        )

    async def create_order(request: Request) -> Response:
        body = await _json_body(request)
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.create_order(body, request_id))

    async def get_order(request: Request) -> Response:
        return JSONResponse(standin.order(request.path_params["id"]))

    async def capture_order(request: Request) -> Response:
        order_id = request.path_params["id"]
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.capture_order(order_id, request_id))

    async def get_capture(request: Request) -> Response:
        return JSONResponse(standin.capture(request.path_params["id"]))

    async def refund_capture(request: Request) -> Response:
        capture_id = request.path_params["id"]
        body = await _json_body(request) if await request.body() else {}
        request_id = request.headers.get("paypal-request-id")
        return _reply(standin.refund_capture(capture_id, body, request_id))

    async def get_refund(request: Request) -> Response:
        return JSONResponse(standin.refund(request.path_params["id"]))

    async def webhooks(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"webhooks": standin.webhooks()})
        body = await _json_body(request)
        url, types = body.get("url"), body.get("event_types")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            _invalid("INVALID_PARAMETER_SYNTAX", "url must be an http(s) URL.", "/url")
        if not isinstance(types, list) or not types:
            _invalid("MISSING_REQUIRED_PARAMETER", "event_types is required.", "/event_types")
        names = tuple(
            kind["name"]
            for kind in types
            if isinstance(kind, dict) and isinstance(kind.get("name"), str)
        )
        if not names:
            _invalid("MISSING_REQUIRED_PARAMETER", "event_types need a name.", "/event_types")
        return JSONResponse(standin.register_webhook(url, names), status_code=201)

    async def get_event(request: Request) -> Response:
        return JSONResponse(standin.event(request.path_params["id"]))

    async def resend_event(request: Request) -> Response:
        return JSONResponse(standin.resend(request.path_params["id"]), status_code=202)

    async def verify(request: Request) -> Response:
        body = await _json_body(request)
        for name in (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        ):
            if name not in body:
                _invalid("MISSING_REQUIRED_PARAMETER", f"{name} is required.", f"/{name}")
        return JSONResponse({"verification_status": standin.verify(body)})

    async def certificate(request: Request) -> Response:
        return Response(standin.cert_pem, media_type="application/x-pem-file")

    async def checkout(request: Request) -> Response:
        """The buyer's approval page: plain HTML, no scripts, no external assets."""
        order_id = request.query_params.get("token", "")
        try:
            order = standin.order(order_id)
        except PayPalError:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Unknown order.</p>", 404)
        lines = "".join(
            f"<li>{html.escape(unit.get('description', unit['reference_id']))}: "
            f"{html.escape(unit['amount']['value'])} {html.escape(unit['amount']['currency_code'])}"
            "</li>"
            for unit in order["purchase_units"]
        )
        action = f"/checkoutnow/{html.escape(order_id)}/approve"
        cancel = f"/checkoutnow/{html.escape(order_id)}/cancel"
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<title>PayPal stand-in checkout</title></head><body>"
            f"<h1>Pay with PayPal (stand-in)</h1><p>Order {html.escape(order_id)}, "
            f"{html.escape(order['status'])}</p><ul>{lines}</ul>"
            f'<form method=post action="{action}"><button type=submit>Approve</button></form>'
            f'<form method=post action="{cancel}"><button type=submit>Cancel</button></form>'
            "</body></html>"
        )

    async def approve(request: Request) -> Response:
        target = standin.approve(request.path_params["id"])
        if target is None:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Approved.</p>")
        return RedirectResponse(target, status_code=303)

    async def cancel(request: Request) -> Response:
        target = standin.cancel(request.path_params["id"])
        if target is None:
            return HTMLResponse("<!doctype html><title>PayPal</title><p>Cancelled.</p>")
        return RedirectResponse(target, status_code=303)

    async def paypal_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayPalError)
        body = exc.body()
        return JSONResponse(body, exc.status, headers={"PayPal-Debug-Id": body["debug_id"]})

    return Starlette(
        routes=[
            Route("/v1/oauth2/token", token, methods=["POST"]),
            Route("/v2/checkout/orders", bearer(create_order), methods=["POST"]),
            Route("/v2/checkout/orders/{id}", bearer(get_order), methods=["GET"]),
            Route("/v2/checkout/orders/{id}/capture", bearer(capture_order), methods=["POST"]),
            Route("/v2/payments/captures/{id}", bearer(get_capture), methods=["GET"]),
            Route("/v2/payments/captures/{id}/refund", bearer(refund_capture), methods=["POST"]),
            Route("/v2/payments/refunds/{id}", bearer(get_refund), methods=["GET"]),
            Route("/v1/notifications/webhooks", bearer(webhooks), methods=["GET", "POST"]),
            Route("/v1/notifications/webhooks-events/{id}", bearer(get_event), methods=["GET"]),
            Route(
                "/v1/notifications/webhooks-events/{id}/resend",
                bearer(resend_event),
                methods=["POST"],
            ),
            Route("/v1/notifications/verify-webhook-signature", bearer(verify), methods=["POST"]),
            Route("/v1/notifications/certs/{name}", certificate, methods=["GET"]),
            Route("/checkoutnow", checkout, methods=["GET"]),
            Route("/checkoutnow/{id}/approve", approve, methods=["POST"]),
            Route("/checkoutnow/{id}/cancel", cancel, methods=["POST"]),
        ],
        exception_handlers={PayPalError: paypal_error},
    )
