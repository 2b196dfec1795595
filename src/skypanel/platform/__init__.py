"""Platform settings: typed keys with defaults, stored as JSON and changed by admins."""
