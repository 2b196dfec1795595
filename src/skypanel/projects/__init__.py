"""Projects: a customer's groups of services, each an Easypanel project in the org's namespace."""
