"""Organizations and their members (owner, admin, member)."""
