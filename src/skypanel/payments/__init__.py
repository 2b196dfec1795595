"""Money in: wallet top-ups paid through a provider's hosted page (Stripe Checkout, PayPal),
credited only from the provider's verified word, once."""
