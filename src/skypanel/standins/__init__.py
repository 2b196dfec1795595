"""Stand-ins for the payment providers SkyPanel talks to (Stripe, PayPal): stateful HTTP servers
that follow the providers' documented APIs, for the tests, the demo and users' own test setups."""
