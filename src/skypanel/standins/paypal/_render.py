"""The stand-in's records as PayPal renders them: orders, purchase units, captures (with the
seller's fee breakdown) and refunds, with their HATEOAS links. Callers hold the stand-in's lock."""

from __future__ import annotations

from fractions import Fraction
from urllib.parse import urlencode

from skypanel.kit.money import round_half_up
from skypanel.standins.paypal._model import Json, _Capture, _Money, _Order, _Refund, _Unit


def _order_json(base_url: str, order: _Order, captures_by_id: dict[str, _Capture]) -> Json:
    self_link = f"{base_url}/v2/checkout/orders/{order.id}"
    links = [{"href": self_link, "rel": "self", "method": "GET"}]
    if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
        rel = "payer-action" if order.payer_action else "approve"
        approve = f"{base_url}/checkoutnow?{urlencode({'token': order.id})}"
        links.append({"href": approve, "rel": rel, "method": "GET"})
    if order.status == "APPROVED":
        links.append({"href": f"{self_link}/capture", "rel": "capture", "method": "POST"})
    payload: Json = {
        "id": order.id,
        "intent": "CAPTURE",
        "status": order.status,
        "purchase_units": [_unit_json(base_url, unit, captures_by_id) for unit in order.units],
        "create_time": order.create_time,
        "update_time": order.update_time,
        "links": links,
    }
    if order.payer is not None:
        payload["payer"] = order.payer
        payload["payment_source"] = {
            "paypal": {
                "email_address": order.payer["email_address"],
                "account_id": order.payer["payer_id"],
                "account_status": "VERIFIED",
                "name": order.payer["name"],
            }
        }
    return payload


def _unit_json(base_url: str, unit: _Unit, captures_by_id: dict[str, _Capture]) -> Json:
    payload: Json = {"reference_id": unit.reference_id, "amount": unit.amount.json()}
    for name in ("custom_id", "invoice_id", "description"):
        if (value := getattr(unit, name)) is not None:
            payload[name] = value
    payload["payee"] = {"merchant_id": "STANDINMERCH1", "email_address": "merchant@example.com"}
    if unit.capture_ids:
        captures = [_capture_json(base_url, captures_by_id[id_]) for id_ in unit.capture_ids]
        payload["payments"] = {"captures": captures}
    return payload


def _capture_json(base_url: str, capture: _Capture) -> Json:
    link = f"{base_url}/v2/payments/captures/{capture.id}"
    order_link = f"{base_url}/v2/checkout/orders/{capture.order_id}"
    payload: Json = {
        "id": capture.id,
        "status": capture.status,
        "amount": capture.amount.json(),
        "final_capture": True,
        "seller_protection": {"status": "ELIGIBLE"},
    }
    if capture.status != "DECLINED":
        fee = _fee(capture.amount)
        payload["seller_receivable_breakdown"] = {
            "gross_amount": capture.amount.json(),
            "paypal_fee": fee.json(),
            "net_amount": _Money(fee.currency, capture.amount.minor - fee.minor).json(),
        }
    for name in ("custom_id", "invoice_id"):
        if (value := getattr(capture, name)) is not None:
            payload[name] = value
    payload |= {
        "create_time": capture.create_time,
        "update_time": capture.update_time,
        "links": [
            {"href": link, "rel": "self", "method": "GET"},
            {"href": f"{link}/refund", "rel": "refund", "method": "POST"},
            {"href": order_link, "rel": "up", "method": "GET"},
        ],
    }
    return payload


def _refund_json(base_url: str, refund: _Refund) -> Json:
    link = f"{base_url}/v2/payments/refunds/{refund.id}"
    capture_link = f"{base_url}/v2/payments/captures/{refund.capture_id}"
    return {
        "id": refund.id,
        "status": "COMPLETED",
        "amount": refund.amount.json(),
        "create_time": refund.create_time,
        "update_time": refund.create_time,
        "links": [
            {"href": link, "rel": "self", "method": "GET"},
            {"href": capture_link, "rel": "up", "method": "GET"},
        ],
    }


def _fee(amount: _Money) -> _Money:
    """PayPal's US standard rate, 3.49% plus a fixed 0.49, never more than the amount."""
    fee = round_half_up(Fraction(amount.minor * 349, 10_000)) + 49
    return _Money(amount.currency, min(fee, amount.minor))
