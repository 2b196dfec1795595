"""`PayPalStandin`, what one stand-in remembers: OAuth tokens, PayPal-Request-Id idempotency,
orders and their approval, captures and refunds, all behind one lock. The webhook half (receivers,
events, signed delivery) it inherits from `_webhooks._Notifications`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from skypanel.standins.paypal._model import (
    Json,
    _Capture,
    _dig,
    _find,
    _invalid,
    _Money,
    _now,
    _Order,
    _parse_money,
    _paypal_id,
    _Refund,
    _refused,
    _text,
    _unit,
)
from skypanel.standins.paypal._render import _capture_json, _order_json, _refund_json
from skypanel.standins.paypal._webhooks import _Notifications


class PayPalStandin(_Notifications):
    """Everything one stand-in remembers, behind one lock (the server's handlers and the test's
    thread both touch it), plus the thread that delivers webhooks in the order they happened."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.client_id = "standin-" + secrets.token_urlsafe(24)
        self.client_secret = secrets.token_urlsafe(32)
        self._tokens: set[str] = set()
        self._orders: dict[str, _Order] = {}
        self._captures: dict[str, _Capture] = {}
        self._refunds: dict[str, _Refund] = {}
        self._replies: dict[tuple[str, str], tuple[int, Json]] = {}
        self._decline_next = False

    # -- OAuth -----------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = "A21AA" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens.add(token)
        return token

    def knows_token(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    # -- idempotency -----------------------------------------------------------------------

    def _once(
        self, scope: str, request_id: str | None, work: Callable[[], tuple[int, Json]]
    ) -> tuple[int, Json]:
        """Run `work` once per PayPal-Request-Id and scope; a repeat gets the first answer.
        Errors are not remembered, so a refused request can be retried with the same id."""
        with self._lock:
            if request_id is None:
                return work()
            key = (scope, request_id)
            if key not in self._replies:
                self._replies[key] = work()
            return self._replies[key]

    # -- orders ----------------------------------------------------------------------------

    def create_order(self, body: Json, request_id: str | None) -> tuple[int, Json]:
        return self._once("create", request_id, lambda: self._create_order(body))

    def _create_order(self, body: Json) -> tuple[int, Json]:
        if body.get("intent") != "CAPTURE":
            _invalid(
                "INVALID_PARAMETER_VALUE", "The stand-in supports intent CAPTURE only.", "/intent"
            )
        raw_units = body.get("purchase_units")
        if not isinstance(raw_units, list) or not 1 <= len(raw_units) <= 10:
            _invalid(
                "MISSING_REQUIRED_PARAMETER",
                "Between 1 and 10 purchase units are required.",
                "/purchase_units",
            )
        units = [_unit(raw, f"/purchase_units/{index}") for index, raw in enumerate(raw_units)]
        if len({unit.reference_id for unit in units}) != len(units):
            _refused(
                "DUPLICATE_REFERENCE_ID",
                "reference_id must be unique across purchase units.",
                "/purchase_units",
            )
        experience = _dig(body, "payment_source", "paypal", "experience_context")
        context = experience or _dig(body, "application_context") or {}
        now = _now()
        order = _Order(
            id=_paypal_id(),
            status="PAYER_ACTION_REQUIRED" if "payment_source" in body else "CREATED",
            units=units,
            return_url=_text(context.get("return_url")),
            cancel_url=_text(context.get("cancel_url")),
            payer_action="payment_source" in body,
            create_time=now,
            update_time=now,
        )
        self._orders[order.id] = order
        return 201, _order_json(self.base_url, order, self._captures)

    def order(self, order_id: str) -> Json:
        with self._lock:
            return _order_json(self.base_url, self._find_order(order_id), self._captures)

    def approve(self, order_id: str) -> str | None:
        """The buyer pressed Approve: the order gains a payer and waits for the merchant.
        Answers where to send the buyer (the return URL), if the merchant gave one."""
        with self._lock:
            order = self._find_order(order_id)
            if order.status == "APPROVED":
                return self._back_to_merchant(order)
            if order.status not in {"CREATED", "PAYER_ACTION_REQUIRED"}:
                _refused(
                    "ORDER_ALREADY_COMPLETED",
                    f"The order is {order.status}, not awaiting approval.",
                )
            order.status, order.update_time = "APPROVED", _now()
            order.payer = {
                "payer_id": _paypal_id(13),
                "email_address": "buyer@example.com",
                "name": {"given_name": "Test", "surname": "Buyer"},
                "address": {"country_code": "US"},
            }
            self._emit(
                "CHECKOUT.ORDER.APPROVED",
                "checkout-order",
                "An order has been approved by buyer",
                _order_json(self.base_url, order, self._captures),
            )
            return self._back_to_merchant(order)

    def cancel(self, order_id: str) -> str | None:
        """The buyer walked away: PayPal leaves the order as it was and sends them back."""
        with self._lock:
            order = self._find_order(order_id)
        if order.cancel_url is None:
            return None
        return _with_query(order.cancel_url, {"token": order.id})

    @staticmethod
    def _back_to_merchant(order: _Order) -> str | None:
        if order.return_url is None or order.payer is None:
            return None
        return _with_query(
            order.return_url, {"token": order.id, "PayerID": order.payer["payer_id"]}
        )

    def capture_order(self, order_id: str, request_id: str | None) -> tuple[int, Json]:
        return self._once(f"capture:{order_id}", request_id, lambda: self._capture_order(order_id))

    def _capture_order(self, order_id: str) -> tuple[int, Json]:
        order = self._find_order(order_id)
        if order.status == "COMPLETED":
            _refused(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured. If 'intent=CAPTURE' only"
                " one capture per order is allowed.",
            )
        if order.status != "APPROVED":
            _refused("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
        declined, self._decline_next = self._decline_next, False
        now = _now()
        for unit in order.units:
            capture = _Capture(
                id=_paypal_id(),
                order_id=order.id,
                status="DECLINED" if declined else "COMPLETED",
                amount=unit.amount,
                custom_id=unit.custom_id,
                invoice_id=unit.invoice_id,
                create_time=now,
                update_time=now,
            )
            self._captures[capture.id] = capture
            unit.capture_ids.append(capture.id)
            resource = _capture_json(self.base_url, capture) | {
                "supplementary_data": {"related_ids": {"order_id": order.id}}
            }
            money = f"{capture.amount.json()['value']} {capture.amount.currency}"
            if declined:
                self._emit(
                    "PAYMENT.CAPTURE.DENIED", "capture", f"Payment denied for {money}", resource
                )
            else:
                self._emit(
                    "PAYMENT.CAPTURE.COMPLETED",
                    "capture",
                    f"Payment completed for {money}",
                    resource,
                )
        order.status, order.update_time = "COMPLETED", now
        return 201, _order_json(self.base_url, order, self._captures)

    def decline_next_capture(self) -> None:
        with self._lock:
            self._decline_next = True

    # -- captures and refunds --------------------------------------------------------------

    def capture(self, capture_id: str) -> Json:
        with self._lock:
            return _capture_json(self.base_url, _find(self._captures, capture_id))

    def refund_capture(
        self, capture_id: str, body: Json, request_id: str | None
    ) -> tuple[int, Json]:
        return self._once(
            f"refund:{capture_id}", request_id, lambda: self._refund_capture(capture_id, body)
        )

    def _refund_capture(self, capture_id: str, body: Json) -> tuple[int, Json]:
        capture = _find(self._captures, capture_id)
        if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            if capture.status == "REFUNDED":
                _refused("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            _refused("INVALID_RESOURCE_STATE", f"A {capture.status} capture cannot be refunded.")
        if "amount" in body:
            amount = _parse_money(body["amount"], "/amount")
            if amount.currency != capture.amount.currency:
                _refused(
                    "CURRENCY_MISMATCH",
                    "The refund must be in the capture's currency.",
                    "/amount/currency_code",
                )
        else:
            amount = _Money(capture.amount.currency, capture.refundable)
        if amount.minor > capture.refundable:
            _refused(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to"
                " the capture amount that has not yet been refunded.",
                "/amount/value",
            )
        refund = _Refund(_paypal_id(), capture.id, amount, _now())
        capture.refunds.append(refund)
        capture.status = "REFUNDED" if capture.refundable == 0 else "PARTIALLY_REFUNDED"
        capture.update_time = refund.create_time
        self._refunds[refund.id] = refund
        money = f"{amount.json()['value']} {amount.currency}"
        self._emit(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            f"A {money} capture payment was refunded",
            _refund_json(self.base_url, refund),
        )
        return 201, _refund_json(self.base_url, refund)

    def refund(self, refund_id: str) -> Json:
        with self._lock:
            return _refund_json(self.base_url, _find(self._refunds, refund_id))

    # -- internals: the callers hold the lock ---------------------------------------------

    def _find_order(self, order_id: str) -> _Order:
        return _find(self._orders, order_id)


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
