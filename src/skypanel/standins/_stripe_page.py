"""The Stripe stand-in's hosted Checkout page: plain HTML with no scripts or external assets, so it
works offline, in any browser test and with curl."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from string import Template
from typing import Any

# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
_ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)

TEST_CARDS = {
    "4242424242424242": "succeeds",
    "4000000000000002": "is declined",
    "4000000000009995": "is declined for insufficient funds",
}

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: system-ui, sans-serif; background: #f6f9fc; color: #1a1f36; margin: 0; }
main { max-width: 26rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 2px 8px rgba(0, 0, 0, .08); }
.amount { font-size: 2rem; font-weight: 600; margin: .25rem 0 1rem; }
.error { background: #fdecea; color: #a11; padding: .75rem; border-radius: 4px; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { font: inherit; padding: .6rem; margin: .4rem 0 1rem; }
button { font: inherit; padding: .7rem; background: #635bff; color: #fff; border: 0;
         border-radius: 4px; cursor: pointer; }
.hint { color: #697386; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>$title</h1>
$content
</main>
</body>
</html>
""")


def format_amount(amount: int, currency: str) -> str:
    """`2500, "usd"` -> `25.00 USD`, in integer arithmetic so no cent is ever rounded away."""
    code = currency.upper()
    if currency.lower() in _ZERO_DECIMAL:
        return f"{amount} {code}"
    return f"{amount // 100}.{amount % 100:02d} {code}"


def checkout_page(
    session: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]],
    *,
    error: str | None = None,
    card: str = "4242424242424242",
) -> str:
    """The payment form for an open session; `error` is the previous attempt's decline."""
    amount = escape(format_amount(session["amount_total"], session["currency"]))
    lines = "".join(
        f"<li>{escape(item['description'])} &times; {item['quantity']}</li>" for item in items
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    cards = "".join(
        f"<li><code>{number}</code> {outcome}</li>" for number, outcome in TEST_CARDS.items()
    )
    cancel = session.get("cancel_url")
    cancel_link = f'<p><a href="{escape(cancel)}">Cancel</a></p>' if cancel else ""
    content = f"""<p class="amount">{amount}</p>
<ul>{lines}</ul>
{alert}
<form method="post">
<label for="card">Card number</label>
<input id="card" name="card" value="{escape(card)}" inputmode="numeric"
       autocomplete="cc-number" required>
<button type="submit">Pay {amount}</button>
</form>
{cancel_link}
<p class="hint">Stripe stand-in: no money moves. Test cards:</p>
<ul class="hint">{cards}</ul>"""
    return _PAGE.substitute(title="Pay with card", content=content)


def message_page(title: str, message: str) -> str:
    """A page that only explains why the session cannot be paid (unknown, expired, complete)."""
    return _PAGE.substitute(title=escape(title), content=f"<p>{escape(message)}</p>")
