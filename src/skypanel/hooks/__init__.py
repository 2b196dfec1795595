"""The webhook endpoints' HTTP API (the rules and the delivery live in `skypanel.notices`)."""
