"""Platform administration: users, organizations, wallet adjustments."""
