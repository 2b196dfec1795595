"""Invoices, credit notes and receipts: sequentially numbered, taxed, immutable documents of
every charge, refund and top-up, with the billing profiles and tax rates they are built from."""
