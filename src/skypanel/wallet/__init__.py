"""Each organization's prepaid wallet and its append-only ledger (integer cents)."""
