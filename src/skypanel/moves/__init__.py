"""Moving an organization from one Easypanel server to another."""
