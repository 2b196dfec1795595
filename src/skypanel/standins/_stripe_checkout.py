"""Checkout Sessions for the Stripe stand-in (https://docs.stripe.com/api/checkout/sessions),
mode=payment only, each backed by a real localstripe PaymentIntent.

Everything here runs on the stand-in's event loop, like localstripe itself; errors raised as
localstripe's `UserError` reach API clients in Stripe's shape `{"error": {"type", "message",
"param"}}`, and `CheckoutError` tells the hosted page what to show.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable
from typing import Any

from localstripe import resources  # type: ignore[import-untyped]
from localstripe.errors import UserError  # type: ignore[import-untyped]

JSON = dict[str, Any]

_CREATE_PARAMS = frozenset(
    {
        "cancel_url",
        "client_reference_id",
        "customer",
        "customer_creation",
        "customer_email",
        "expand",
        "expires_at",
        "line_items",
        "metadata",
        "mode",
        "payment_intent_data",
        "payment_method_types",
        "success_url",
    }
)
_MIN_LIFETIME = 30 * 60
_MAX_LIFETIME = 24 * 60 * 60


class CheckoutError(Exception):
    """Why the hosted page cannot take this payment, with the HTTP status it answers with:
    400 invalid card number, 402 declined (both keep the session open), 404, 409."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> int:
    return int(time.time())


class _Snapshot:
    """What localstripe's `Event` needs of the object it wraps: an `_export()`."""

    def __init__(self, obj: JSON) -> None:
        self._obj = obj

    def _export(self) -> JSON:
        return copy.deepcopy(self._obj)


def _invalid(param: str, message: str) -> Exception:
    error: Exception = UserError(400, message, {"param": param})
    return error


def _optional_text(value: Any, param: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(param, f"Invalid string: {param}.")
    return value


def _text(value: Any, param: str) -> str:
    text = _optional_text(value, param)
    if text is None:
        raise _invalid(param, f"Missing required param: {param}.")
    return text


def _integer(value: Any, param: str, *, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(param, f"Invalid integer: {value!r}.") from None
    if number < minimum:
        raise _invalid(param, f"{param} must be greater than or equal to {minimum}.")
    return number


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _invalid(param, f"Invalid object: {param}.")
    return {str(key): str(item) for key, item in value.items()}


def _only(params: JSON, allowed: frozenset[str], parent: str = "") -> None:
    """Stripe rejects parameters it does not know; so does the stand-in, loudly."""
    for name in params:
        if name not in allowed:
            param = f"{parent}[{name}]" if parent else name
            raise _invalid(param, f"Received unknown parameter: {param}")


def _line_items(raw: Any) -> list[JSON]:
    if not isinstance(raw, list) or not raw:
        raise _invalid("line_items", "Missing required param: line_items.")
    items = []
    for index, item in enumerate(raw):
        param = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise _invalid(param, f"Invalid object: {param}.")
        _only(item, frozenset({"price_data", "quantity"}), param)
        price = item.get("price_data")
        if not isinstance(price, dict):
            raise _invalid(f"{param}[price_data]", "The stand-in takes price_data, not Prices.")
        product = price.get("product_data")
        name = _text(
            product.get("name") if isinstance(product, dict) else None,
            f"{param}[price_data][product_data][name]",
        )
        currency = _text(price.get("currency"), f"{param}[price_data][currency]").lower()
        unit_amount = _integer(
            price.get("unit_amount"), f"{param}[price_data][unit_amount]", minimum=0
        )
        quantity = _integer(item.get("quantity"), f"{param}[quantity]", minimum=1)
        items.append(
            {
                "id": "li_" + secrets.token_hex(12),
                "object": "item",
                "amount_subtotal": unit_amount * quantity,
                "amount_total": unit_amount * quantity,
                "currency": currency,
                "description": name,
                "price": {"object": "price", "currency": currency, "unit_amount": unit_amount},
                "quantity": quantity,
            }
        )
    if len({item["currency"] for item in items}) > 1:
        raise _invalid("line_items", "All line items must use the same currency.")
    return items


class Checkout:
    """The sessions of one running stand-in; `emit` takes a localstripe `Event`."""

    def __init__(self, base_url: str, emit: Callable[[Any], None]) -> None:
        self._base_url = base_url
        self._emit = emit
        self._sessions: dict[str, JSON] = {}
        self._items: dict[str, list[JSON]] = {}

    def create(self, _: str | None, params: JSON) -> JSON:
        _only(params, _CREATE_PARAMS)
        if params.get("mode") != "payment":
            raise _invalid("mode", "The stand-in supports mode=payment only.")
        if params.get("payment_method_types", ["card"]) != ["card"]:
            raise _invalid("payment_method_types", "The stand-in takes cards only.")
        items = _line_items(params.get("line_items"))
        total = sum(item["amount_total"] for item in items)
        if total <= 0:
            raise _invalid("line_items", "The total amount must be greater than zero.")
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise _invalid("payment_intent_data", "Invalid object: payment_intent_data.")
        _only(intent_data, frozenset({"metadata", "setup_future_usage"}), "payment_intent_data")
        if intent_data.get("setup_future_usage") not in (None, "off_session", "on_session"):
            raise _invalid(
                "payment_intent_data[setup_future_usage]", "Use off_session or on_session."
            )
        if params.get("customer_creation") not in (None, "always", "if_required"):
            raise _invalid("customer_creation", "Use always or if_required.")
        created = _now()
        expires_at = created + _MAX_LIFETIME
        if params.get("expires_at") is not None:
            expires_at = _integer(params["expires_at"], "expires_at", minimum=0)
            if not created + _MIN_LIFETIME <= expires_at <= created + _MAX_LIFETIME:
                raise _invalid("expires_at", "expires_at must be 30 minutes to 24 hours ahead.")
        # Like Stripe, the session's own metadata stays on the session; the intent gets
        # payment_intent_data[metadata].
        intent = resources.PaymentIntent._api_create(
            amount=total,
            currency=items[0]["currency"],
            customer=_optional_text(params.get("customer"), "customer"),
            metadata=_metadata(intent_data.get("metadata"), "payment_intent_data[metadata]"),
        )
        session_id = "cs_test_" + secrets.token_hex(24)
        session: JSON = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": _optional_text(params.get("cancel_url"), "cancel_url"),
            "client_reference_id": _optional_text(
                params.get("client_reference_id"), "client_reference_id"
            ),
            "created": created,
            "currency": items[0]["currency"],
            "customer": intent.customer,
            "customer_creation": params.get("customer_creation"),
            "customer_details": None,
            "customer_email": _optional_text(params.get("customer_email"), "customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": _metadata(params.get("metadata"), "metadata"),
            "mode": "payment",
            "setup_future_usage": intent_data.get("setup_future_usage"),
            "payment_intent": intent.id,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": _text(params.get("success_url"), "success_url"),
            "url": f"{self._base_url}/checkout/pay/{session_id}",
        }
        self._sessions[session_id] = session
        self._items[session_id] = items
        return self._export(session, params.get("expand"))

    def retrieve(self, session_id: str | None, params: JSON) -> JSON:
        _only(params, frozenset({"expand"}))
        return self._export(self._api_session(session_id), params.get("expand"))

    def line_items(self, session_id: str | None, params: JSON) -> JSON:
        _only(params, frozenset({"limit", "starting_after", "ending_before"}))
        session = self._api_session(session_id)
        return {
            "object": "list",
            "data": self._items[session["id"]],
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session['id']}/line_items",
        }

    def expire(self, session_id: str | None, params: JSON) -> JSON:
        _only(params, frozenset({"expand"}))
        session = self._api_session(session_id)
        if session["status"] != "open":
            raise _invalid(
                "session", "Only Checkout Sessions with a status in open can be expired."
            )
        self._expire(session)
        return self._export(session, params.get("expand"))

    def payable(self, session_id: str) -> tuple[JSON, list[JSON]]:
        """The open session and its line items, for the hosted page."""
        session = self._sessions.get(session_id)
        if session is None:
            raise CheckoutError(404, "This checkout session does not exist.")
        self._expire_if_due(session)
        if session["status"] != "open":
            raise CheckoutError(409, f"This checkout session is {session['status']}.")
        return session, self._items[session_id]

    def pay(self, session_id: str, card: str) -> str:
        """Charge `card` for the session; return the success URL the payer is sent to."""
        session, _ = self.payable(session_id)
        number = "".join(card.split())
        if len(number) != 16 or not number.isdigit():
            raise CheckoutError(400, "Your card number is invalid.")
        intent = resources.PaymentIntent._api_retrieve(session["payment_intent"])
        method = resources.PaymentMethod(
            type="card", card={"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}
        )
        # Each attempt starts afresh, as on Stripe: localstripe reads a failed charge as
        # "requires_payment_method" and would refuse to confirm the intent again.
        self._save_card(session, intent, method)
        intent.payment_method = method.id
        intent.latest_charge = None
        intent.next_action = None
        try:
            intent._confirm(on_failure_now=intent._report_failure)
        except UserError as error:
            raise CheckoutError(402, str(error.body["error"]["message"])) from None
        if intent.status != "succeeded":
            raise CheckoutError(402, "This card needs 3-D Secure, which the stand-in lacks.")
        session.update(
            status="complete",
            payment_status="paid",
            url=None,
            customer_details={"email": session["customer_email"]},
        )
        self._emit(resources.Event("checkout.session.completed", _Snapshot(session)))
        return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])

    def _save_card(self, session: JSON, intent: Any, method: Any) -> None:
        """With `customer_creation=always` (or a customer given) and `setup_future_usage`, the
        card is attached to the customer for later off-session charges, as on Stripe."""
        if session["customer"] is None and session["customer_creation"] == "always":
            customer = resources.Customer(email=session["customer_email"])
            session["customer"] = customer.id
        if session["customer"] is None:
            return
        intent.customer = session["customer"]
        if session["setup_future_usage"]:
            try:
                resources.PaymentMethod._api_attach(method.id, customer=session["customer"])
            except UserError as error:
                raise CheckoutError(402, str(error.body["error"]["message"])) from None

    def _api_session(self, session_id: str | None) -> JSON:
        session = self._sessions.get(session_id or "")
        if session is None:
            raise UserError(
                404,
                f"No such checkout.session: '{session_id}'",
                {"param": "session", "code": "resource_missing"},
            )
        self._expire_if_due(session)
        return session

    def _expire_if_due(self, session: JSON) -> None:
        """Stripe expires sessions on its own clock; the stand-in does it when one is next used."""
        if session["status"] == "open" and session["expires_at"] <= _now():
            self._expire(session)

    def _expire(self, session: JSON) -> None:
        session.update(status="expired", url=None)
        resources.PaymentIntent._api_cancel(session["payment_intent"])
        self._emit(resources.Event("checkout.session.expired", _Snapshot(session)))

    def _export(self, session: JSON, expand: Any) -> JSON:
        exported = dict(session)
        if isinstance(expand, list) and "payment_intent" in expand:
            intent = resources.PaymentIntent._api_retrieve(session["payment_intent"])
            exported["payment_intent"] = intent._export()
        return exported
