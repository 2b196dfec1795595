"""Subscriptions: paid from the wallet, provisioned on Easypanel, changed and cancelled."""
