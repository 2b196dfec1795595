"""Container plans: monthly price and quotas, curated by admins."""
