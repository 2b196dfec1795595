"""A PayPal stand-in: OAuth, Orders v2, Payments v2 captures and refunds, webhooks and their
signature verification, over real HTTP on a loopback port.

No payment provider is reachable from where SkyPanel is built and tested, yet the code that talks
to PayPal must be exercised over the wire, with PayPal's shapes, errors and signed webhooks. This
server follows PayPal's documented REST API closely enough for SkyPanel's client, its demo and
users' test setups (point SKYPANEL_PAYPAL_API_BASE at it):

    with running_paypal(webhook_url="http://127.0.0.1:8000/paypal/webhook") as paypal:
        ...  # create an order through the API
        paypal.approve(order_id)  # what the buyer's Approve button does
        ...  # capture through the API; the webhook receives signed events

State lives in one `PayPalStandin` per server. Webhooks are signed as PayPal signs them (RSA
SHA-256 over `transmission_id|transmission_time|webhook_id|crc32(body)`) with a key pair made at
start, whose self-signed certificate the stand-in serves at the PAYPAL-CERT-URL it sends.

Left out on purpose: intent AUTHORIZE, order PATCH and confirm-payment-source, vaulting,
subscriptions, disputes, and PayPal's automatic retries of failed deliveries (tests call
`redeliver`, which is synchronous and so deterministic).
"""

from skypanel.standins.paypal._app import create_paypal_app
from skypanel.standins.paypal._model import PayPalError
from skypanel.standins.paypal._runner import RunningPayPal, main, running_paypal
from skypanel.standins.paypal._signing import signed_message
from skypanel.standins.paypal._state import PayPalStandin

__all__ = [
    "PayPalError",
    "PayPalStandin",
    "RunningPayPal",
    "create_paypal_app",
    "main",
    "running_paypal",
    "signed_message",
]
