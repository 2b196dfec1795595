"""Platform monitoring for admins: subscriptions, services, revenue, billing health, Easypanel."""
